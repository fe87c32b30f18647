/**
 * RabbitMQ in tests: the private test node started by test/services/global-setup.js
 * (scripts/private-rabbitmq.sh), one vhost per test file, rabbitmqctl; a SECOND private node of a
 * test file's own (for stop_app / start_app without disturbing other files).
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as path from "node:path";

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
export async function listJson<T = Record<string, unknown>>(what: "queues" | "exchanges" | "bindings" | "consumers" | "channels", vhost: string, ...columns: string[]): Promise<T[]> {
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
