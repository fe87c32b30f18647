/**
 * RabbitMQ helpers of the amqp-* interop tests: vhosts on the private test node (re-exported from
 * test/integration/helpers/amqp.ts), a SECOND private node of a test file's own (for stop_app /
 * start_app without disturbing other files), and inline Python run next to pyapp (batch send /
 * batch get, where one client.py process per task would be too slow).
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { PY_DIR } from "./python";
import type { Env, Python } from "./python";
import { amqpBase, amqpPort, amqpUrl, createVhost, deleteVhost, PRIVATE_RABBITMQ, rabbitmqctl } from "../../test/integration/helpers/amqp";

export { amqpBase, amqpPort, amqpUrl, createVhost, deleteVhost, rabbitmqctl };

const ROOT = path.resolve(__dirname, "..", "..");

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
