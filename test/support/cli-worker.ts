/**
 * A celeriac CLI worker (interop-tests/apps/tsapp.js) as a child process, and the Python `celery`
 * command and event Receiver pointed at it: what the control/events interop tests share.
 * Build first: npm run build.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { unique } from "./app";
import type { BrokerLease, TestBroker } from "./brokers";
import { PY_DIR } from "./python";
import type { Python } from "./python";
import { waitFor } from "./wait";

const ROOT = resolve(__dirname, "../..");

/** A running `celeriac worker` with its own queue and node name. */
export interface CliWorker {
  child: ChildProcess;
  node: string;
  queue: string;
  output: () => string;
  exited: Promise<number | null>;
  /** SIGTERM (warm shutdown) unless it already exited; resolves when it has. */
  stop(): Promise<void>;
}

/**
 * Start `celeriac worker -A interop-tests/apps/tsapp.js -c 2 -n <prefix>-<id>@interop` on a queue
 * of its own (or on env.TSAPP_QUEUE, to share one); `env` adds to its environment (e.g.
 * TSAPP_MAX_RETRIES, TSAPP_SETTINGS); `appModule` replaces tsapp.js (one that loads it, say).
 */
export function startCliWorker(
  broker: string,
  backend: string,
  prefix: string,
  extra: string[] = [],
  env: Record<string, string> = {},
  appModule = "interop-tests/apps/tsapp.js",
): CliWorker {
  const id = randomUUID().slice(0, 8);
  const queue = env.TSAPP_QUEUE ?? `${prefix}-${id}`;
  const node = `${prefix}-${id}@interop`;
  let out = "";
  const child = spawn(process.execPath, [resolve(ROOT, "dist/cli/main.js"), "worker", "-A", appModule, "-c", "2", "-n", node, ...extra], {
    cwd: ROOT,
    env: { ...process.env, TSAPP_BROKER: broker, TSAPP_BACKEND: backend, TSAPP_QUEUE: queue, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  return { child, node, queue, output: () => out, exited, stop };
}

/** What a command printed, and its exit status. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `celeriac <args>` (dist/cli/main.js) with `env` added to the environment (e.g. CELERY_BROKER_URL). */
export function celeriacCli(env: Record<string, string>, args: string[]): Promise<CommandResult> {
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [resolve(ROOT, "dist/cli/main.js"), ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolvePromise({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** `python -m celery -A pyapp <args>` with pyapp configured by `env` (PYAPP_*). */
export function celeryCli(py: Python, env: Record<string, string>, args: string[]): Promise<CommandResult> {
  return new Promise((resolvePromise) => {
    execFile(
      py.exe,
      ["-m", "celery", "-A", "pyapp", ...args],
      { cwd: PY_DIR, env: { ...process.env, ...env, PYTHONDONTWRITEBYTECODE: "1" }, timeout: 60_000 },
      (err, stdout, stderr) => resolvePromise({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** `celery inspect <method> -d <node> -j`, parsed. */
export async function inspectJson(py: Python, env: Record<string, string>, w: CliWorker, method: string, ...args: string[]): Promise<Record<string, unknown>> {
  const r = await celeryCli(py, env, ["inspect", method, ...args, "-d", w.node, "-t", "5", "-j"]);
  if (r.code !== 0) throw new Error(`inspect ${method} failed (${r.code}): ${r.stdout}\n${r.stderr}\nworker:\n${w.output()}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() as string) as Record<string, unknown>;
}

/** The events of `node` Python's event Receiver sees within `seconds` (py/receive_events.py). */
export function receiveEvents(py: Python, env: Record<string, string>, node: string, seconds: number): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolvePromise, reject) => {
    execFile(py.exe, ["receive_events.py", node, String(seconds)], { cwd: PY_DIR, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolvePromise(JSON.parse(stdout.trim().split("\n").pop() as string) as Array<Record<string, unknown>>),
    );
  });
}

/** Unix ms of the first line of `output` containing `text` (Celery's `[YYYY-MM-DD HH:MM:SS,mmm: LEVEL/...]`, local time). */
export function logTime(output: string, text: string): number {
  const line = output.split("\n").find((l) => l.includes(text));
  const m = line?.match(/^\[(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3}):/);
  if (!m) throw new Error(`no log line with ${text}`);
  return Date.parse(`${m[1]}T${m[2]}.${m[3]}`);
}

/** Pids of the child processes of `pid` (a `-P prefork` worker's children). */
export function childPids(pid: number): number[] {
  try {
    return execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when there is none
  }
}

/**
 * Pids of the prefork pool children of `pid`, alive (a zombie has no command line): `prefork-child.js`
 * until the child sets its title, `celeriac ForkPoolWorker-<n>` after.
 */
export function preforkChildPids(pid: number): number[] {
  return childPids(pid).filter((child) => {
    try {
      return /prefork-child|ForkPoolWorker-/.test(readFileSync(`/proc/${child}/cmdline`, "utf8"));
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** What a suite started by `cliWorkerSuite` shares with its tests (set in its beforeAll). */
export interface CliWorkerSuite {
  readonly lease: BrokerLease;
  readonly worker: CliWorker;
  readonly queue: string;
  /** The environment of the Python client (`pyapp`) pointed at this worker's broker, backend and queue. */
  readonly pyEnv: Record<string, string>;
}

/**
 * In a `describe.each(BROKERS)` block: beforeAll leases `broker` (tag `prefix`, Redis db `redisDb`)
 * and starts `celeriac worker` with `extra` arguments on a queue of its own, ready; afterAll stops
 * it and gives the broker back. Read the fields inside tests (they are set by then).
 */
export function cliWorkerSuite(broker: TestBroker, backend: string, prefix: string, redisDb: number, extra: string[] = []): CliWorkerSuite {
  const state: { lease?: BrokerLease; worker?: CliWorker; queue?: string } = {};
  const must = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is read before the suite's beforeAll`);
    return value;
  };
  beforeAll(async () => {
    state.lease = await broker.open(prefix, redisDb);
    state.queue = unique(prefix);
    state.worker = startCliWorker(state.lease.url, backend, prefix, extra, { TSAPP_QUEUE: state.queue });
    await waitFor(() => (state.worker as CliWorker).output().includes("ready."), 20000, `${prefix} worker ready`);
  });
  afterAll(async () => {
    await state.worker?.stop();
    await state.lease?.close();
  });
  return {
    get lease() {
      return must(state.lease, "lease");
    },
    get worker() {
      return must(state.worker, "worker");
    },
    get queue() {
      return must(state.queue, "queue");
    },
    get pyEnv() {
      return { PYAPP_BROKER: must(state.lease, "lease").url, PYAPP_BACKEND: backend, PYAPP_QUEUES: must(state.queue, "queue") };
    },
  };
}
