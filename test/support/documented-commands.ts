/**
 * A guide page as a script: its fenced code blocks, and the commands of its ```sh blocks with the
 * output each one is shown to print (the `# ` lines right after it), run as a reader runs them.
 * Used by interop-tests/guide-examples-run-as-documented.test.ts.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { waitFor } from "./wait";

const ROOT = resolve(__dirname, "..", "..");

/** One fenced block: its language (first word of the info string) and its text. */
export interface FencedBlock {
  lang: string;
  code: string;
}

/** Every fenced code block of a Markdown page, in order. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  const fence = /^```(\S*)[^\n]*\n([\s\S]*?)^```\s*$/gm;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) blocks.push({ lang: m[1], code: m[2].replace(/\n$/, "") });
  return blocks;
}

/** A command of a ```sh block and the output lines shown under it (`# text`, `#` for an empty line). */
export interface DocumentedCommand {
  command: string;
  output: string[];
}

/** The commands of the page's ```sh blocks, in order; comment lines before a command are prose. */
export function documentedCommands(markdown: string): DocumentedCommand[] {
  const commands: DocumentedCommand[] = [];
  for (const block of fencedBlocks(markdown).filter((b) => b.lang === "sh")) {
    let current: DocumentedCommand | null = null;
    for (const line of block.code.split("\n")) {
      if (line.trim() === "") current = null;
      else if (line.startsWith("#")) current?.output.push(line.replace(/^# ?/, ""));
      else commands.push((current = { command: line.trim(), output: [] }));
    }
  }
  return commands;
}

/** How a reader's command runs here: `npx celeriac` is this repository's built CLI. */
function argv(command: string): [string, string[]] {
  const words = command.split(/\s+/);
  if (words[0] === "npx" && words[1] === "celeriac") return [process.execPath, [resolve(ROOT, "dist/cli/main.js"), ...words.slice(2)]];
  return [words[0], words.slice(1)];
}

/** A long-running command (a worker), started in its own process group. */
export interface Background {
  command: string;
  output(): string;
  stop(): Promise<void>;
}

/** Start a worker command in `cwd`; resolves once it logged "ready.". */
export async function startDocumented(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Background> {
  const [file, args] = argv(command);
  const child: ChildProcess = spawn(file, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((done) => child.once("close", () => done()));
  const background: Background = {
    command,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const kill = setTimeout(() => {
        try {
          process.kill(-(child.pid as number), "SIGKILL");
        } catch {
          // already gone
        }
      }, 30_000);
      await exited;
      clearTimeout(kill);
    },
  };
  try {
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`${command} exited (${child.exitCode}):\n${out}`);
      return / ready\.$/m.test(out);
    }, 90_000, `${command} ready`);
  } catch (err) {
    await background.stop();
    throw err;
  }
  return background;
}

/** Run a command in `cwd` to its end; resolves with its stdout, rejects (with its output) when it fails. */
export function runDocumented(command: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<string> {
  const [file, args] = argv(command);
  return new Promise((done, reject) =>
    execFile(file, args, { cwd, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${command} failed: ${err.message}\n${stdout}\n${stderr}`)) : done(stdout),
    ),
  );
}

/** Output lines as a page shows them: this machine's host name as `<host>`, no trailing blanks. */
export function asDocumented(stdout: string): string[] {
  const lines = stdout.split("\n").map((l) => l.replaceAll(`@${hostname()}`, "@<host>").trimEnd());
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines;
}
