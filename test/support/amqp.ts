/**
 * RabbitMQ in tests: the private test node started by test/services/global-setup.js
 * (scripts/private-rabbitmq.sh), one vhost per test file, rabbitmqctl; a SECOND private node of a
 * test file's own (for stop_app / start_app without disturbing other files); and inline Python run
 * next to pyapp (batch send / batch get, where one client.py process per task would be too slow).
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as path from "node:path";
import { PY_DIR } from "./python";
import type { Env, Python } from "./python";

const ROOT = path.resolve(__dirname, "..", "..");
export const PRIVATE_RABBITMQ = path.join(ROOT, "scripts", "private-rabbitmq.sh");

export function amqpPort(): number {
  return Number(process.env.CELERIAC_TEST_AMQP_PORT ?? 5682);
}

export function amqpDir(): string {
  return process.env.CELERIAC_TEST_AMQP_DIR ?? path.join(ROOT, ".tmp", `rabbitmq-${amqpPort()}`);
}

/** Base URL (no vhost) of the test broker. */
export function amqpBase(): string {
  return (process.env.CELERIAC_TEST_AMQP_URL ?? `amqp://guest:guest@127.0.0.1:${amqpPort()}`).replace(/\/+$/, "");
}

/** URL of a vhost of the test broker. */
export function amqpUrl(vhost: string): string {
  return `${amqpBase()}/${encodeURIComponent(vhost)}`;
}

/** `rabbitmqctl -n <node> ...args` against the test node; resolves with stdout. */
export function rabbitmqctl(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("bash", [PRIVATE_RABBITMQ, "ctl", String(amqpPort()), amqpDir(), ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`rabbitmqctl ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Create a fresh vhost with full permissions for guest; returns its name. */
export async function createVhost(prefix = "t"): Promise<string> {
  const vhost = `${prefix}-${randomUUID().slice(0, 8)}`;
  await rabbitmqctl("-q", "add_vhost", vhost);
  await rabbitmqctl("-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*");
  return vhost;
}

export async function deleteVhost(vhost: string): Promise<void> {
  await rabbitmqctl("-q", "delete_vhost", vhost).catch(() => undefined);
}

/** `rabbitmqctl list_* --formatter json` parsed. */
export async function listJson<T = Record<string, unknown>>(what: "queues" | "exchanges" | "bindings", vhost: string, ...columns: string[]): Promise<T[]> {
  const out = await rabbitmqctl("-q", `list_${what}`, "-p", vhost, "--formatter", "json", ...columns);
  return JSON.parse(out) as T[];
}

/** A private RabbitMQ node on `port` (data under .tmp/rabbitmq-<port>-<tag>), started and stopped by the test. */
export class PrivateNode {
  readonly dir: string;
  private startedHere = false;
  constructor(
    readonly port: number,
    tag: string,
  ) {
    this.dir = path.join(ROOT, ".tmp", `rabbitmq-${port}-${tag}`);
  }

  /** AMQP URL of vhost "/" of this node. */
  get url(): string {
    return amqpBase().replace(/:\d+$/, `:${this.port}`);
  }

  script(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) =>
      execFile("bash", [PRIVATE_RABBITMQ, args[0], String(this.port), this.dir, ...args.slice(1)], { timeout: 120_000 }, (err, out, errOut) =>
        err ? reject(new Error(`private-rabbitmq.sh ${args.join(" ")} (port ${this.port}): ${err.message}\n${errOut}`)) : resolve(out.trim()),
      ),
    );
  }

  /** Start the node unless it runs; a node this object started stays its own across repeated calls. */
  async start(): Promise<void> {
    if ((await this.script("start")) === "started") this.startedHere = true;
  }

  ctl(...args: string[]): Promise<string> {
    return this.script("ctl", ...args);
  }

  /** start_app (in case a test left it stopped), then stop the node if this test started it. */
  async stop(): Promise<void> {
    await this.ctl("-q", "start_app").catch(() => undefined);
    if (this.startedHere) await this.script("stop");
  }
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
      { cwd: PY_DIR, env: { ...process.env, PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1", ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
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
with app.producer_or_acquire() as producer:
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
