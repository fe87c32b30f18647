/**
 * `celeriac inspect <method>`, `celeriac control <method>`, `celeriac events --dump`, and the
 * worker's remote-control options (-E, --without-heartbeat, --heartbeat-interval,
 * --without-remote-control), mirroring the `celery` command.
 */
import type { Argv } from "yargs";
import type { CeleryClient } from "../app";
import type { WorkerControlOptions } from "../worker/control";
import { LamportClock } from "../events/clock";
import { EventReceiver } from "../events/receiver";
import { pyJsonDumps } from "../protocol/serializers/json";
import { EventDumper } from "./event-dump";
import { clientApp } from "./load-app";
import { formatReply, nodesOnline } from "./remote-output";
import { redactText } from "../redact";

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
    .option("events", { alias: ["E", "task-events"], type: "boolean", describe: "send task events (task-received, task-succeeded, ...)" })
    .option("without-heartbeat", { type: "boolean", describe: "do not send worker-heartbeat/online/offline events" })
    .option("heartbeat-interval", { type: "number", describe: "seconds between worker-heartbeat events (default 2)" })
    .option("without-remote-control", { type: "boolean", describe: "do not answer inspect/control commands" });
}

/** The worker options -E and friends set; a remote `shutdown` runs `shutdown()` (warm). */
export function workerControlSettings(argv: WorkerControlArgv, shutdown: () => void): WorkerControlOptions {
  return {
    sendTaskEvents: argv.events || undefined,
    heartbeat: argv["without-heartbeat"] ? false : undefined,
    heartbeatInterval: argv["heartbeat-interval"],
    remoteControl: argv["without-remote-control"] ? false : undefined,
    onRemoteShutdown: () => shutdown(),
  };
}

/** Python's `strtobool`, as `celery inspect conf [include_defaults]` parses its argument. */
function strtobool(value: string | undefined): boolean {
  return ["y", "yes", "t", "true", "on", "1"].includes((value ?? "").toLowerCase());
}

/** Inspect commands and their arguments, as `celery inspect <command> [args]` compiles them (Panel.meta). */
const INSPECT: Record<string, (args: string[]) => Record<string, unknown>> = {
  active: () => ({}),
  active_queues: () => ({}),
  clock: () => ({}),
  conf: (a) => (a.length ? { with_defaults: strtobool(a[0]) } : {}),
  ping: () => ({}),
  query_task: (a) => ({ ids: a }),
  registered: (a) => ({ taskinfoitems: a }),
  report: () => ({}),
  reserved: () => ({}),
  revoked: () => ({}),
  scheduled: () => ({}),
  stats: () => ({}),
};

/** Only the positional arguments given, as Celery's `_consume_arguments`. */
function positional(names: string[], a: string[], convert: (name: string, v: string) => unknown = (_n, v) => v): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  names.forEach((name, i) => {
    if (a[i] !== undefined) out[name] = convert(name, a[i]);
  });
  return out;
}

const CONTROL: Record<string, (args: string[], argv: { terminate?: boolean; signal?: string }) => Record<string, unknown>> = {
  add_consumer: (a) => positional(["queue", "exchange", "exchange_type", "routing_key"], a),
  autoscale: (a) => positional(["max", "min"], a, (_n, v) => Number.parseInt(v, 10)),
  cancel_consumer: (a) => positional(["queue"], a),
  disable_events: () => ({}),
  enable_events: () => ({}),
  heartbeat: () => ({}),
  pool_grow: (a) => positional(["n"], a, (_n, v) => Number.parseInt(v, 10)),
  pool_restart: () => ({}),
  pool_shrink: (a) => positional(["n"], a, (_n, v) => Number.parseInt(v, 10)),
  rate_limit: (a) => positional(["task_name", "rate_limit"], a),
  // celeriac extension: --terminate/--signal (the celery CLI has `terminate <signal> <ids>` instead).
  revoke: (a, o) => ({ task_id: a, ...(o.terminate ? { terminate: true, signal: o.signal ?? "SIGTERM" } : {}) }),
  revoke_by_stamped_headers: (a, o) => ({ headers: a, ...(o.terminate ? { terminate: true, signal: o.signal ?? "SIGTERM" } : {}) }),
  shutdown: () => ({}),
  terminate: (a) => ({ ...positional(["signal"], a), task_id: a.slice(1) }),
  time_limit: (a) => positional(["task_name", "soft", "hard"], a, (n, v) => (n === "task_name" ? v : Number.parseFloat(v))),
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

/** A usage error (exit 2, as click's). */
class UsageError extends Error {}

/**
 * Broadcast `method` with a reply and collect the replies, closing the app. When no node replied,
 * prints Celery's error, sets exit status 69 (EX_UNAVAILABLE) and returns null.
 */
async function gather(argv: Omit<RemoteArgv, "method" | "args">, method: string, args: Record<string, unknown>): Promise<Array<Record<string, unknown>> | null> {
  const app: CeleryClient = await clientApp(argv.app);
  const destination = argv.destination ? argv.destination.split(",").map((s) => s.trim()) : null;
  let replies: Array<Record<string, unknown>>;
  try {
    replies = await app.control.broadcast(method, { arguments: args, destination, reply: true, timeout: argv.timeout ?? 1 });
  } finally {
    await app.close();
  }
  if (replies.length) return replies;
  process.stderr.write("Error: No nodes replied within time constraint\n");
  process.exitCode = 69;
  return null;
}

async function remote(kind: "inspect" | "control", argv: RemoteArgv): Promise<void> {
  const table = kind === "inspect" ? INSPECT : CONTROL;
  const build = table[argv.method];
  if (!build) throw new UsageError(`Command ${argv.method} not recognized. Available ${kind} commands: ${Object.keys(table).join(", ")}`);
  const replies = await gather(argv, argv.method, build((argv.args ?? []).map(String), argv));
  if (!replies) return;
  if (argv.json) {
    // inspect merges the replies into one object; control prints the list (as Celery).
    process.stdout.write(pyJsonDumps(kind === "inspect" ? Object.assign({}, ...replies) : replies) + "\n");
    return;
  }
  for (const r of replies) for (const [node, value] of Object.entries(r)) process.stdout.write(formatReply(node, value) + "\n");
  if (kind === "inspect") process.stdout.write(nodesOnline(replies.length) + "\n");
}

/** `celeriac status`: the nodes answering ping, as `celery status`. */
async function status(argv: Omit<RemoteArgv, "method" | "args">): Promise<void> {
  const replies = await gather(argv, "ping", {});
  if (!replies) return;
  if (argv.json) process.stdout.write(pyJsonDumps(Object.assign({}, ...replies)) + "\n");
  else for (const r of replies) for (const [node, value] of Object.entries(r)) process.stdout.write(formatReply(node, value, false) + "\n");
  process.stdout.write(nodesOnline(replies.length) + "\n");
}

/** `celeriac events`: JSON lines, or with --dump the lines of `celery events --dump`. */
async function events(argv: { app?: string; dump?: boolean }): Promise<void> {
  const app = await clientApp(argv.app);
  const dumper = argv.dump ? new EventDumper(new LamportClock()) : null;
  if (dumper) process.stdout.write("-> evdump: starting capture...\n");
  const receiver = new EventReceiver(await app.connection(), (e) => process.stdout.write((dumper ? dumper.format(e) : JSON.stringify(e)) + "\n"));
  await receiver.start();
  const stop = () => void receiver.stop().then(() => app.close()).then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/** Usage errors print as click's ("Error: ...") and exit 2. */
async function usage(run: Promise<void>): Promise<void> {
  try {
    await run;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`Error: ${redactText(err.message)}\n`);
    process.exit(2);
  }
}

function remoteOptions<T>(y: Argv<T>) {
  return y
    .positional("method", { type: "string", demandOption: true, describe: "the command, as Celery names it (ping, stats, revoke, ...)" })
    .positional("args", { type: "string", array: true, describe: "the command's arguments, as `celery` takes them" })
    .option("app", { alias: "A", type: "string", describe: "module exporting the Celery app (default: an app on -b or CELERY_BROKER_URL)" })
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
      (argv) => usage(remote("inspect", argv)),
    )
    .command(
      "control <method> [args..]",
      `Control workers (${Object.keys(CONTROL).join(", ")})`,
      (c) =>
        remoteOptions(c)
          .option("terminate", { type: "boolean", describe: "revoke: also stop the running task" })
          .option("signal", { alias: "s", type: "string", describe: "revoke --terminate: signal name" }),
      (argv) => usage(remote("control", argv)),
    )
    .command(
      "status",
      "Show the workers that are online (ping)",
      (c) =>
        c
          .option("app", { alias: "A", type: "string", describe: "module exporting the Celery app (default: an app on -b or CELERY_BROKER_URL)" })
          .option("destination", { alias: "d", type: "string", describe: "comma-separated node names" })
          .option("timeout", { alias: "t", type: "number", describe: "seconds to wait for replies (default 1)" })
          .option("json", { alias: "j", type: "boolean", describe: "print the replies as one JSON object" }),
      (argv) => status(argv),
    )
    .command(
      "events",
      "Print every event: a JSON line each, or with --dump as `celery events --dump`",
      (c) => c.option("app", { alias: "A", type: "string", describe: "module exporting the Celery app (default: an app on -b or CELERY_BROKER_URL)" }).option("dump", { type: "boolean", default: false, describe: "Celery's event dump format" }),
      (argv) => events(argv),
    );
}
