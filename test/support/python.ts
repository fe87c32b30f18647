/**
 * Runs real Python Celery next to celeriac: the client CLI (interop-tests/py/client.py) and
 * workers of the app interop-tests/py/pyapp.py, under both Pythons that scripts/ensure-deps.sh
 * installs.
 */
import { ChildProcess, execFile, spawn } from "child_process";
import { randomBytes } from "crypto";
import * as path from "path";

export type PythonLabel = "celery-latest" | "celery-5.2";
export interface Python {
  label: PythonLabel;
  exe: string;
}

const ROOT = path.resolve(__dirname, "..", "..");
export const PY_DIR = path.join(ROOT, "interop-tests", "py");

/** The newest Celery from PyPI (interop-tests/.venv) and Debian's Celery 5.2 (/usr/bin/python3). */
export const PYTHONS: Python[] = [
  { label: "celery-latest", exe: path.join(ROOT, "interop-tests", ".venv", "bin", "python") },
  { label: "celery-5.2", exe: "/usr/bin/python3" },
];

export type Env = Record<string, string | undefined>;

function childEnv(env: Env): NodeJS.ProcessEnv {
  return { ...process.env, PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1", ...env };
}

const NOT_INSTALLED = "(is it installed? run: bash scripts/ensure-deps.sh)";

/**
 * Runs `client.py ...args` (see its docstring) with pyapp's PYAPP_* variables in `env` and
 * resolves to the JSON line it prints; rejects with its stderr when it fails.
 */
export function pyClient(py: Python, args: string[], env: Env = {}, timeoutMs = 120_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(
      py.exe,
      ["client.py", ...args],
      { cwd: PY_DIR, env: childEnv(env), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const what = `${py.label} client.py ${args.join(" ")}`;
        if (err) {
          const code = (err as NodeJS.ErrnoException).code === "ENOENT" ? `${py.exe} not found ${NOT_INSTALLED}` : err.message;
          reject(new Error(`${what} failed: ${code}\n${stderr}`));
          return;
        }
        const line = stdout.trim().split("\n").pop() ?? "";
        try {
          resolve(JSON.parse(line));
        } catch {
          reject(new Error(`${what} printed no JSON line:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

/** What `client.py get` / `call` prints (`state` prints id, state, result and traceback). */
export interface PyOutcome {
  id: string;
  state: string;
  result: unknown;
  traceback: string | null;
  exc_type: string | null;
  exc_message: string | null;
  exc_module: string | null;
  /** With --states: every [status, result] message get() received, in order. */
  states?: [string, unknown][];
}

const versions = new Map<string, Promise<string>>();

/** Celery's version string in that Python, e.g. "5.2.6". */
export function pythonCeleryVersion(py: Python): Promise<string> {
  let version = versions.get(py.exe);
  if (!version) {
    version = new Promise((resolve, reject) => {
      execFile(py.exe, ["-c", "import celery; print(celery.__version__)"], (err, stdout, stderr) =>
        err ? reject(new Error(`${py.label}: cannot import celery ${NOT_INSTALLED}\n${stderr}`)) : resolve(stdout.trim()),
      );
    });
    versions.set(py.exe, version);
  }
  return version;
}

export interface PythonWorkerOptions {
  broker: string;
  backend?: string;
  /** -Q; also PYAPP_QUEUES, so the worker's default queue is the first one. */
  queues?: string[];
  concurrency?: number;
  /** prefork (default), solo, threads, ... */
  pool?: string;
  /** -n; default a unique py-<label>-<random>@%h. */
  hostname?: string;
  /** More PYAPP_* (or any) variables. */
  env?: Env;
  /** More worker arguments. The harness passes --without-mingle --without-gossip unless `mingleAndGossip`. */
  extraArgs?: string[];
  mingleAndGossip?: boolean;
  /** How long to wait for "ready." (default 60 s). */
  readyTimeoutMs?: number;
}

export interface PythonWorker {
  readonly hostname: string;
  readonly pid: number;
  /** Warm shutdown (SIGTERM), then SIGKILL of its process group after 30 s. Resolves when it exited. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL) to the main process; SIGKILL goes to its whole process group. */
  kill(signal?: NodeJS.Signals): void;
  /** Everything it logged so far (stdout and stderr interleaved). */
  output(): string;
  /** Resolves with the output once `pattern` appears in it (searched from the start). */
  waitFor(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
}

/** Workers still running, killed when this process exits so none outlives a crashed test run. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-(child.pid as number), signal);
  } catch {
    // already gone
  }
}

/** Starts `<exe> -m celery -A pyapp worker -l info ...` in interop-tests/py; resolves once it logged "ready.". */
export function startPythonWorker(py: Python, opts: PythonWorkerOptions): Promise<PythonWorker> {
  const hostname = opts.hostname ?? `py-${py.label}-${randomBytes(4).toString("hex")}@%h`;
  const args = ["-m", "celery", "-A", "pyapp", "worker", "-l", "info", "-n", hostname];
  args.push("-P", opts.pool ?? "prefork", "-c", String(opts.concurrency ?? 1));
  if (opts.queues?.length) args.push("-Q", opts.queues.join(","));
  if (!opts.mingleAndGossip) args.push("--without-mingle", "--without-gossip");
  args.push(...(opts.extraArgs ?? []));
  const env: Env = {
    PYAPP_BROKER: opts.broker,
    PYAPP_BACKEND: opts.backend ?? "",
    ...(opts.queues?.length ? { PYAPP_QUEUES: opts.queues.join(",") } : {}),
    C_FORCE_ROOT: "1", // CI runs as root; Celery refuses root only when pickle is accepted
    ...opts.env,
  };

  // Own process group, so that SIGKILL also reaches the prefork children.
  const child = spawn(py.exe, args, { cwd: PY_DIR, env: childEnv(env), detached: true, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => running.forEach((c) => killGroup(c, "SIGKILL")));
  }

  let log = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    log += chunk.toString("utf8");
    listeners.forEach((l) => l());
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise<void>((resolve) => {
    child.on("close", () => {
      running.delete(child);
      listeners.forEach((l) => l());
      resolve();
    });
  });
  let spawnError: Error | undefined;
  child.on("error", (err) => {
    spawnError = err;
    running.delete(child);
    listeners.forEach((l) => l());
  });

  const waitFor = (pattern: string | RegExp, timeoutMs = 30_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const found = () => (typeof pattern === "string" ? log.includes(pattern) : pattern.test(log));
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      const check = () => {
        if (found()) {
          done();
          resolve(log);
        } else if (spawnError || child.exitCode !== null || child.signalCode !== null) {
          done();
          const why = spawnError ? `${spawnError.message} ${NOT_INSTALLED}` : `exited (${child.exitCode ?? child.signalCode})`;
          reject(new Error(`${py.label} worker ${hostname} ${why} before logging ${pattern}:\n${log}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${py.label} worker ${hostname} did not log ${pattern} within ${timeoutMs} ms:\n${log}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });

  const worker: PythonWorker = {
    hostname,
    pid: child.pid ?? -1,
    output: () => log,
    waitFor,
    kill(signal: NodeJS.Signals = "SIGKILL") {
      if (signal === "SIGKILL") killGroup(child, signal);
      else child.kill(signal);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || spawnError) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };

  return waitFor(/ ready\.$/m, opts.readyTimeoutMs ?? 60_000).then(
    () => worker,
    async (err) => {
      killGroup(child, "SIGKILL");
      throw err;
    },
  );
}

/**
 * Runs `<python> -c code` in interop-tests/py (so `from pyapp import app` works, configured by
 * PYAPP_* in `env`), writes `input` as JSON to its stdin and resolves with the JSON of its last
 * stdout line.
 */
export function pyInline(py: Python, code: string, input: unknown, env: Env = {}, timeoutMs = 300_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      py.exe,
      ["-c", code],
      { cwd: PY_DIR, env: childEnv(env), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`${py.label} inline python failed: ${err.message}\n${stderr}`));
          return;
        }
        const line = stdout.trim().split("\n").pop() ?? "";
        try {
          resolve(JSON.parse(line));
        } catch {
          reject(new Error(`${py.label} inline python printed no JSON line:\n${stdout}\n${stderr}`));
        }
      },
    );
    child.stdin?.end(JSON.stringify(input));
  });
}

/** Python: send_task(task, args) for every args list of stdin's {"task", "queue", "argsList"}; prints the ids. */
export const PY_SEND_MANY = `
import json, sys
from pyapp import app
req = json.load(sys.stdin)
ids = []
# its own connection, closed with the broker's handshake on leaving: every publish is routed
# before this process exits (Celery publishes without confirms)
with app.connection_for_write() as conn:
    producer = app.amqp.Producer(conn)
    for args in req['argsList']:
        ids.append(app.send_task(req['task'], args=args, queue=req['queue'], producer=producer).id)
print(json.dumps(ids))
`;

/** Python: AsyncResult(id).get() for every id of stdin's {"ids", "timeout"}; prints [[state, result], ...]. */
export const PY_GET_MANY = `
import json, sys
from pyapp import app
req = json.load(sys.stdin)
out = []
for task_id in req['ids']:
    r = app.AsyncResult(task_id)
    try:
        value = r.get(timeout=req['timeout'], propagate=False)
        out.append([r.state, value if isinstance(value, (int, float, str, list, dict, type(None))) else repr(value)])
    except Exception as exc:
        out.append(['ERROR', '%s: %s' % (type(exc).__name__, exc)])
print(json.dumps(out))
`;
