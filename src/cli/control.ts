/**
 * `celeriac inspect <method>`, `celeriac control <method>`, `celeriac events --dump`, and the
 * worker's remote-control options (-E, --without-heartbeat, --heartbeat-interval,
 * --without-remote-control), mirroring the `celery` command.
 */
import type { Argv } from "yargs";
import type { Worker } from "../worker/worker";
import type { Celery } from "../app";
import { onRemoteShutdown, setWorkerControlOptions } from "../worker/control";
import { EventReceiver } from "../events/receiver";
import { clientApp } from "./load-app";

/** Worker options this module adds (see `workerControlOptions`). */
export interface WorkerControlArgv {
  events?: boolean;
  "without-heartbeat"?: boolean;
  "heartbeat-interval"?: number;
  "without-remote-control"?: boolean;
}

/** Add -E and friends to the worker command. */
export function workerControlOptions<T>(y: Argv<T>): Argv<T & WorkerControlArgv> {
  return y
    .option("events", { alias: "E", type: "boolean", describe: "send task events (task-received, task-succeeded, ...)" })
    .option("without-heartbeat", { type: "boolean", describe: "do not send worker-heartbeat/online/offline events" })
    .option("heartbeat-interval", { type: "number", describe: "seconds between worker-heartbeat events (default 2)" })
    .option("without-remote-control", { type: "boolean", describe: "do not answer inspect/control commands" }) as unknown as Argv<T & WorkerControlArgv>;
}

/** Apply the options to a worker before `start()`; a remote `shutdown` runs `shutdown()` (warm). */
export function configureWorkerControl(worker: Worker, argv: WorkerControlArgv, shutdown: () => void): void {
  setWorkerControlOptions(worker, {
    sendTaskEvents: argv.events || undefined,
    heartbeat: argv["without-heartbeat"] ? false : undefined,
    heartbeatInterval: argv["heartbeat-interval"],
    remoteControl: argv["without-remote-control"] ? false : undefined,
  });
  onRemoteShutdown(worker, () => shutdown());
}

const INSPECT: Record<string, (args: string[]) => Record<string, unknown>> = {
  ping: () => ({}),
  stats: () => ({}),
  active: () => ({ safe: null }),
  reserved: () => ({}),
  scheduled: () => ({}),
  revoked: () => ({}),
  registered: (a) => ({ taskinfoitems: a }),
  active_queues: () => ({}),
  query_task: (a) => ({ ids: a }),
  conf: (a) => ({ with_defaults: a[0] === "true" || a[0] === "1" }),
  report: () => ({}),
  clock: () => ({}),
};

const CONTROL: Record<string, (args: string[], argv: { terminate?: boolean; signal?: string }) => Record<string, unknown>> = {
  revoke: (a, o) => ({ task_id: a, terminate: o.terminate ?? false, signal: o.signal ?? "SIGTERM" }),
  terminate: (a) => ({ signal: a[0], task_id: a.slice(1) }),
  rate_limit: (a) => ({ task_name: a[0], rate_limit: a[1] }),
  time_limit: (a) => ({ task_name: a[0], soft: a[1] === undefined ? null : Number(a[1]), hard: a[2] === undefined ? null : Number(a[2]) }),
  add_consumer: (a) => ({ queue: a[0], exchange: a[1] ?? null, exchange_type: a[2] ?? "direct", routing_key: a[3] ?? null }),
  cancel_consumer: (a) => ({ queue: a[0] }),
  pool_grow: (a) => ({ n: a[0] ? Number(a[0]) : 1 }),
  pool_shrink: (a) => ({ n: a[0] ? Number(a[0]) : 1 }),
  enable_events: () => ({}),
  disable_events: () => ({}),
  heartbeat: () => ({}),
  shutdown: () => ({}),
};

interface RemoteArgv {
  app?: string;
  method: string;
  args?: string[];
  destination?: string;
  timeout?: number;
  json?: boolean;
  terminate?: boolean;
  signal?: string;
}

async function remote(kind: "inspect" | "control", argv: RemoteArgv): Promise<void> {
  const table = kind === "inspect" ? INSPECT : CONTROL;
  const build = table[argv.method];
  if (!build) throw new Error(`unknown ${kind} method ${argv.method} (one of: ${Object.keys(table).join(", ")})`);
  const app: Celery = clientApp(argv.app);
  const destination = argv.destination ? argv.destination.split(",").map((s) => s.trim()) : null;
  const reply = argv.method !== "shutdown";
  const replies = await app.control.broadcast(argv.method, {
    arguments: build((argv.args ?? []).map(String), argv),
    destination,
    reply,
    timeout: argv.timeout ?? 1,
  });
  await app.close();
  if (argv.json) {
    process.stdout.write(JSON.stringify(Object.assign({}, ...replies)) + "\n");
  } else {
    for (const r of replies) for (const [node, value] of Object.entries(r)) process.stdout.write(`->  ${node}: OK\n    ${JSON.stringify(value, null, 2).replace(/\n/g, "\n    ")}\n`);
    if (reply && replies.length === 0) {
      process.stderr.write("Error: No nodes replied within time constraint\n");
      process.exitCode = 69;
    }
  }
}

async function dumpEvents(argv: { app?: string }): Promise<void> {
  const app = clientApp(argv.app);
  const receiver = new EventReceiver(await app.connection(), (e) => process.stdout.write(JSON.stringify(e) + "\n"));
  await receiver.start();
  const stop = () => void receiver.stop().then(() => app.close()).then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

function remoteOptions<T>(y: Argv<T>) {
  return y
    .positional("method", { type: "string", demandOption: true })
    .positional("args", { type: "string", array: true })
    .option("app", { alias: "A", type: "string" })
    .option("destination", { alias: "d", type: "string", describe: "comma-separated node names" })
    .option("timeout", { alias: "t", type: "number", describe: "seconds to wait for replies (default 1)" })
    .option("json", { alias: "j", type: "boolean", describe: "print the replies as one JSON object" });
}

/** Register `inspect`, `control` and `events`. */
export function registerControlCommands<T>(y: Argv<T>): Argv<T> {
  return y
    .command(
      "inspect <method> [args..]",
      `Inspect workers (${Object.keys(INSPECT).join(", ")})`,
      (c) => remoteOptions(c),
      (argv) => remote("inspect", argv as unknown as RemoteArgv),
    )
    .command(
      "control <method> [args..]",
      `Control workers (${Object.keys(CONTROL).join(", ")})`,
      (c) =>
        remoteOptions(c)
          .option("terminate", { type: "boolean", describe: "revoke: also stop the running task" })
          .option("signal", { alias: "s", type: "string", describe: "revoke --terminate: signal name" }),
      (argv) => remote("control", argv as unknown as RemoteArgv),
    )
    .command(
      "events",
      "Print every event as a JSON line (like celery events --dump)",
      (c) => c.option("app", { alias: "A", type: "string" }).option("dump", { type: "boolean", default: true }),
      (argv) => dumpEvents(argv),
    ) as unknown as Argv<T>;
}
