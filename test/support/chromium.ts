/**
 * Headless Chromium (Debian's /usr/bin/chromium, installed by scripts/ensure-deps.sh): a page's
 * screenshot and its DOM after its scripts ran, for the Flower interop test.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

export const CHROMIUM = process.env.CELERIAC_CHROMIUM ?? "/usr/bin/chromium";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--no-first-run",
  "--hide-scrollbars",
];

export interface PageOptions {
  /** Browser window size (default 1400x900). */
  width?: number;
  height?: number;
  /** Virtual milliseconds the page's scripts (and their XHRs) get before the capture (default 5000). */
  virtualTimeBudgetMs?: number;
  /** Wall-clock limit of the Chromium run (default 60 s). */
  timeoutMs?: number;
}

/** Fails with a clear message when Chromium is not installed. */
export function assertChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: headless Chromium is needed for Flower's screenshots (run: bash scripts/ensure-deps.sh, which installs Debian's chromium)`);
  }
}

/** Runs Chromium headless with `args` then `url` in a throw-away profile; resolves with its stdout. */
function runChromium(args: string[], url: string, options: PageOptions): Promise<string> {
  assertChromium();
  const profile = mkdtempSync(path.join(tmpdir(), "celeriac-chromium-"));
  const all = [
    ...FLAGS,
    `--user-data-dir=${profile}`,
    `--window-size=${options.width ?? 1400},${options.height ?? 900}`,
    `--virtual-time-budget=${options.virtualTimeBudgetMs ?? 5000}`,
    ...args,
    url,
  ];
  return new Promise((resolve, reject) => {
    // Own process group: Chromium's zygote/renderer children go with it on a timeout.
    const child = spawn(CHROMIUM, all, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString("utf8")));
    child.stderr?.on("data", (d: Buffer) => (err += d.toString("utf8")));
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        // already gone
      }
    }, options.timeoutMs ?? 60_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      reject(new Error(`cannot run ${CHROMIUM}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      if (code === 0) resolve(out);
      else reject(new Error(`${CHROMIUM} ${args.join(" ")} ${url} failed (${code ?? signal}):\n${err.slice(-3000)}`));
    });
  });
}

/** Saves a PNG screenshot of `url` to `file`. */
export async function screenshot(url: string, file: string, options: PageOptions = {}): Promise<void> {
  await runChromium([`--screenshot=${file}`], url, options);
}

/** The DOM of `url` after its scripts ran (serialized HTML). */
export function dumpDom(url: string, options: PageOptions = {}): Promise<string> {
  return runChromium(["--dump-dom"], url, options);
}

/** Width and height of a PNG file; throws unless the file starts with the PNG signature and IHDR. */
export function pngSize(file: string): { width: number; height: number; bytes: number } {
  const data = readFileSync(file);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (data.length < 24 || !data.subarray(0, 8).equals(signature) || data.toString("latin1", 12, 16) !== "IHDR") {
    throw new Error(`${file} is not a PNG image (${data.length} bytes)`);
  }
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20), bytes: data.length };
}
