/**
 * Flower (newest from PyPI, installed into interop-tests/.venv by scripts/ensure-deps.sh) as a
 * child process on 127.0.0.1 and a free port, pointed at a broker: what interop-tests/flower.test.ts
 * looks at a celeriac worker through.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PYTHONS } from "./python";

const VENV_PY = PYTHONS.find((p) => p.label === "celery-latest")!.exe;
const NOT_INSTALLED = "(is flower installed in interop-tests/.venv? run: bash scripts/ensure-deps.sh)";

/** A running Flower. */
export interface Flower {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Everything Flower logged so far (stdout and stderr). */
  output(): string;
  /** GET `pathAndQuery` (e.g. "/api/workers?refresh=1"): status and body text. */
  get(pathAndQuery: string): Promise<{ status: number; body: string }>;
  /** GET `pathAndQuery`, failing unless it answers 200 with JSON; the parsed body. */
  getJson<T = unknown>(pathAndQuery: string): Promise<T>;
  /** SIGTERM to Flower's process group, SIGKILL after 5 s; resolves once it exited. */
  stop(): Promise<void>;
}

export interface FlowerOptions {
  /** Seconds Flower waits for inspect replies (--inspect_timeout is in ms; default 3 s). */
  inspectTimeoutSeconds?: number;
  /** How long to wait for Flower's HTTP to answer (default 30 s). */
  readyTimeoutMs?: number;
  /** More `celery flower` options. */
  extraArgs?: string[];
}

/** A TCP port nothing listens on at the moment (the kernel's pick on 127.0.0.1). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-(child.pid as number), signal);
  } catch {
    // already gone
  }
}

/** Flowers still running, killed when this process exits so none outlives a crashed test run. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Starts `python -m celery -b <broker> flower --address=127.0.0.1 --port=<free>` from the venv in
 * its own process group and an empty working directory (no flowerconfig.py is picked up), with
 * the HTTP API open without authentication (FLOWER_UNAUTHENTICATED_API); resolves once
 * GET /healthcheck answers 200.
 */
export async function startFlower(broker: string, options: FlowerOptions = {}): Promise<Flower> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const cwd = mkdtempSync(path.join(tmpdir(), "celeriac-flower-"));
  const args = ["-m", "celery", "-b", broker, "flower", "--address=127.0.0.1", `--port=${port}`];
  args.push(`--inspect_timeout=${(options.inspectTimeoutSeconds ?? 3) * 1000}`, ...(options.extraArgs ?? []));
  const child = spawn(VENV_PY, args, {
    cwd,
    env: { ...process.env, FLOWER_UNAUTHENTICATED_API: "true", PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => running.forEach((c) => killGroup(c, "SIGKILL")));
  }
  let log = "";
  child.stdout?.on("data", (d: Buffer) => (log += d.toString("utf8")));
  child.stderr?.on("data", (d: Buffer) => (log += d.toString("utf8")));
  let spawnError: Error | undefined;
  child.on("error", (err) => (spawnError = err));
  const exited = new Promise<void>((resolve) =>
    child.on("close", () => {
      running.delete(child);
      rmSync(cwd, { recursive: true, force: true });
      resolve();
    }),
  );

  const get = async (pathAndQuery: string) => {
    const res = await fetch(url + pathAndQuery, { signal: AbortSignal.timeout(20_000) });
    return { status: res.status, body: await res.text() };
  };
  const flower: Flower = {
    url,
    port,
    output: () => log,
    get,
    async getJson<T>(pathAndQuery: string): Promise<T> {
      const { status, body } = await get(pathAndQuery);
      if (status !== 200) throw new Error(`Flower GET ${pathAndQuery}: HTTP ${status}: ${body.slice(0, 500)}\nFlower log:\n${log}`);
      return JSON.parse(body) as T;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || spawnError) return;
      killGroup(child, "SIGTERM");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (spawnError) throw new Error(`cannot start Flower with ${VENV_PY}: ${spawnError.message} ${NOT_INSTALLED}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`Flower exited (${child.exitCode ?? child.signalCode}) before answering on ${url} ${NOT_INSTALLED}:\n${log}`);
    }
    const answered = await get("/healthcheck").then(
      (r) => r.status === 200,
      () => false,
    );
    if (answered) return flower;
    if (Date.now() > deadline) {
      await flower.stop();
      throw new Error(`Flower did not answer on ${url} within ${options.readyTimeoutMs ?? 30_000} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
