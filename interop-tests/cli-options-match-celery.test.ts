/**
 * The options celeriac claims from the `celery` command carry Celery's names and meanings: for
 * each of them, every name `celery <command> --help` lists (long and short aliases) belongs to
 * one option of `celeriac <command> --help`, and both take a value or both are flags. Checked
 * against the newest Celery (interop-tests/.venv) and Debian's 5.2. celeriac's own extras
 * (--log-format, -Q on call, ...) are not Celery's and are not checked.
 */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { PYTHONS } from "../test/support/python";

const ROOT = resolve(__dirname, "..");

interface HelpOption {
  names: string[];
  takesValue: boolean;
}

/** click's help: `  -n, --hostname HOSTNAME   text` (a metavar means a value), in its "... Options:" sections. */
function clickOptions(help: string): HelpOption[] {
  const out: HelpOption[] = [];
  const lines = help.split("\n");
  // Not the usage text before them (5.2 wraps its examples, `  -l INFO -Q hipri,lopri ...`).
  for (const line of lines.slice(lines.findIndex((l) => /Options:$/.test(l)))) {
    const m = /^ {2}(-\S.*?)(?: {2,}|$)/.exec(line);
    if (!m) continue;
    const tokens = m[1].split(/,? /);
    const names = tokens.filter((t) => /^--?[\w-]+$/.test(t));
    out.push({ names, takesValue: tokens.some((t) => !/^--?[\w-]+$/.test(t)) });
  }
  return out;
}

/** yargs' help: an option block starts with `  -x, --name` and ends before the next; `[boolean]` marks a flag. */
function yargsOptions(help: string): HelpOption[] {
  const blocks: string[] = [];
  for (const line of help.split("\n")) {
    if (/^ {2,6}-/.test(line)) blocks.push(line);
    else if (blocks.length && /^ {7,}/.test(line)) blocks[blocks.length - 1] += " " + line.trim();
  }
  return blocks.map((b) => {
    const head = /^\s*((?:--?[\w-]+(?:, )?)+)/.exec(b)![1];
    return { names: head.split(", ").map((n) => n.trim()), takesValue: !b.includes("[boolean]") };
  });
}

/** Celery's long name of each option celeriac claims, per command ("" is the global options). */
const CLAIMED: Record<string, string[]> = {
  "": ["--app", "--broker", "--result-backend"],
  worker: [
    "--hostname", "--statedb", "--loglevel", "--prefetch-multiplier", "--concurrency", "--pool", "--task-events", "--time-limit",
    "--soft-time-limit", "--max-tasks-per-child", "--max-memory-per-child", "--purge", "--queues", "--exclude-queues",
    "--without-gossip", "--without-mingle", "--without-heartbeat", "--heartbeat-interval", "--autoscale", "--beat",
    "--schedule-filename", "--logfile", "--pidfile",
  ],
  call: ["--args", "--kwargs", "--eta", "--countdown", "--expires", "--serializer", "--queue", "--exchange", "--routing-key"],
  purge: ["--force", "--queues", "--exclude-queues"],
};

function celeriacHelp(command: string): string {
  // The global options are listed with every command; -A of the worker, call and purge too.
  return execFileSync(process.execPath, [resolve(ROOT, "dist/cli/main.js"), command || "worker", "--help"], { encoding: "utf8" });
}

describe.each(PYTHONS)("celery ($label) --help", (py) => {
  const celeryHelp = (command: string): string =>
    execFileSync(py.exe, ["-m", "celery", ...(command ? [command] : []), "--help"], { encoding: "utf8", cwd: ROOT, env: { ...process.env, COLUMNS: "200" } });

  test.each(Object.keys(CLAIMED))("%s: the same names, each a flag or taking a value as in Celery", (command) => {
    const theirs = clickOptions(celeryHelp(command));
    const ours = yargsOptions(celeriacHelp(command));
    const problems: string[] = [];
    for (const long of CLAIMED[command]) {
      const celery = theirs.find((o) => o.names.includes(long));
      if (!celery) {
        problems.push(`${long}: not in celery ${command} --help`);
        continue;
      }
      const mine = ours.find((o) => o.names.includes(long));
      if (!mine) {
        problems.push(`${long}: not in celeriac ${command} --help`);
        continue;
      }
      for (const name of celery.names) if (!mine.names.includes(name)) problems.push(`${long}: celery's ${name} is not an alias of celeriac's ${mine.names.join(", ")}`);
      if (mine.takesValue !== celery.takesValue) problems.push(`${long}: celery's ${celery.takesValue ? "takes a value" : "is a flag"}, celeriac's not`);
      // A short name of ours is no other Celery option's.
      for (const name of mine.names) {
        const other = theirs.find((o) => o !== celery && o.names.includes(name));
        if (other) problems.push(`${long}: celeriac's ${name} is celery's ${other.names.join(", ")}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
