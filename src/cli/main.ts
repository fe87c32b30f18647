#!/usr/bin/env node
/** `celeriac worker|call|result|purge`, mirroring the `celery` command. */
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { parseLogLevel } from "../logging";
import { redactText } from "../redact";
import { loadWorkerApp, clientApp } from "./load-app";
import { expandNodeName } from "./hostname";
import { embedBeat, registerBeatCommands } from "./beat";
import { registerControlCommands, workerControlOptions, workerControlSettings } from "./control";
import { parseAutoscale } from "../worker/autoscaler";
import type { WorkerControlArgv } from "./control";
import { isWireObject } from "../protocol/message";
import type { WireValue } from "../protocol/message";

function parseJson(text: string | undefined, what: string, fallback: WireValue): WireValue {
  if (text === undefined) return fallback;
  try {
    return JSON.parse(text) as WireValue;
  } catch (err) {
    throw new Error(`--${what} is not valid JSON: ${(err as Error).message}`);
  }
}

function splitList(value: string | undefined): string[] | undefined {
  return value ? value.split(",").map((s) => s.trim()).filter(Boolean) : undefined;
}

interface WorkerArgv extends WorkerControlArgv {
  app: string;
  queues?: string;
  concurrency?: number;
  hostname?: string;
  loglevel: string;
  "prefetch-multiplier"?: number;
  pool?: string;
  statedb?: string;
  "max-tasks-per-child"?: number;
  "max-memory-per-child"?: number;
  autoscale?: { max: number; min: number };
  "metrics-port"?: number;
  "health-max-blocked"?: number;
  beat?: boolean;
  schedule?: string;
}

async function worker(argv: WorkerArgv): Promise<void> {
  const app = loadWorkerApp(argv.app);
  // Celery's default pool: prefork, -c defaulting to the CPU count (worker.ts), so hard time limits stop CPU-bound code.
  const pool = (argv.pool ?? "prefork") as "eventloop" | "threads" | "prefork";
  const w = app.worker({
    queues: splitList(argv.queues),
    concurrency: argv.concurrency,
    hostname: expandNodeName(argv.hostname),
    prefetchMultiplier: argv["prefetch-multiplier"],
    logLevel: parseLogLevel(argv.loglevel),
    pool,
    appModule: argv.app,
    statedb: argv.statedb,
    maxTasksPerChild: argv["max-tasks-per-child"],
    maxMemoryPerChild: argv["max-memory-per-child"],
    autoscale: argv.autoscale,
    metricsPort: argv["metrics-port"],
    healthMaxBlockedSeconds: argv["health-max-blocked"],
    ...workerControlSettings(argv, () => shutdown("SIGTERM")),
  });
  let signals = 0;
  const shutdown = (sig: string) => {
    signals++;
    if (signals > 1 || sig === "SIGQUIT") {
      // Cold: stop at once; held and acksLate messages go back to their queue first.
      w.logger.warn("Cold shutdown (MainProcess)");
      const exit = () => process.exit(1);
      setTimeout(exit, 5000).unref();
      void w.stop({ cold: true }).then(() => app.close()).then(exit, exit);
      return;
    }
    w.logger.warn("Warm shutdown (MainProcess)");
    void w.stop().then(() => app.close()).then(() => process.exit(0));
  };
  for (const sig of ["SIGTERM", "SIGINT", "SIGQUIT"] as const) process.on(sig, () => shutdown(sig));
  await w.start();
  if (argv.beat) await embedBeat(app, w, argv);
}

async function call(argv: { app?: string; task: string; args?: string; kwargs?: string; queue?: string; countdown?: number; priority?: number }): Promise<void> {
  const app = clientApp(argv.app);
  const args = parseJson(argv.args, "args", []);
  const kwargs = parseJson(argv.kwargs, "kwargs", {});
  if (!Array.isArray(args)) throw new Error("--args must be a JSON array");
  if (!isWireObject(kwargs)) throw new Error("--kwargs must be a JSON object");
  const r = await app.sendTask(argv.task, args, kwargs, {
    queue: argv.queue,
    countdown: argv.countdown,
    priority: argv.priority,
  });
  process.stdout.write(r.id + "\n");
  await app.close();
}

async function result(argv: { app?: string; id: string; wait?: number }): Promise<void> {
  const app = clientApp(argv.app);
  const r = app.AsyncResult(argv.id);
  if (argv.wait !== undefined) await r.get({ timeout: argv.wait * 1000, propagate: false });
  const meta = await r.meta();
  process.stdout.write(JSON.stringify({ state: meta?.status ?? "PENDING", result: meta?.result ?? null, traceback: meta?.traceback ?? null }) + "\n");
  await app.close();
}

async function purge(argv: { app?: string; queues?: string }): Promise<void> {
  const app = clientApp(argv.app);
  const transport = await app.connection();
  const queues = splitList(argv.queues) ?? [app.conf.taskDefaultQueue];
  const n = await transport.purge(queues);
  process.stdout.write(`Purged ${n} message${n === 1 ? "" : "s"} from ${queues.length} known task queue${queues.length === 1 ? "" : "s"}.\n`);
  await app.close();
}

void registerControlCommands(registerBeatCommands(yargs(hideBin(process.argv)).scriptName("celeriac")))
  .command(
    "worker",
    "Start a worker",
    (y) =>
      workerControlOptions(
        y
          .option("app", { alias: "A", type: "string", demandOption: true, describe: "module exporting the Celery app" })
          .option("queues", { alias: "Q", type: "string", describe: "comma-separated queues" })
          .option("concurrency", { alias: "c", type: "number", describe: "tasks at once (prefork: child processes; default the number of CPUs)" })
          .option("hostname", { alias: "n", type: "string", describe: "node name, e.g. worker1@%h" })
          .option("loglevel", { alias: "l", type: "string", default: "info" })
          .option("prefetch-multiplier", { type: "number" })
          .option("pool", { alias: "P", type: "string", choices: ["prefork", "eventloop", "threads"], default: "prefork", describe: "where tasks run: prefork (child processes, hard limits stop CPU-bound code), eventloop (this process, for I/O-bound tasks), threads" })
          .option("statedb", { type: "string", describe: "JSON file keeping revoked ids across restarts" })
          .option("max-tasks-per-child", { type: "number", describe: "threads/prefork pool: replace a thread or child after N tasks" })
          .option("max-memory-per-child", { type: "number", describe: "threads/prefork pool: replace a thread (heap) or child (resident memory) past N KiB" })
          .option("autoscale", { type: "string", coerce: parseAutoscale, describe: "MAX,MIN (or MAX, min 0): start MIN pool processes, grow up to MAX under load, shrink back after AUTOSCALE_KEEPALIVE seconds (30)" })
          .option("metrics-port", { type: "number", describe: "serve /metrics (Prometheus, celery-exporter's names; needs prom-client), /healthz and /readyz on this port" })
          .option("health-max-blocked", { type: "number", describe: "with --metrics-port: /healthz answers 503 once the event loop has been blocked this many seconds (default 10)" })
          .option("beat", { alias: "B", type: "boolean", describe: "also run the beat scheduler in this process" })
          .option("schedule", { alias: "s", type: "string", describe: "beat state file (with -B)" }),
      ),
    (argv) => worker(argv),
  )
  .command(
    "call <task>",
    "Send a task and print its id",
    (y) =>
      y
        .positional("task", { type: "string", demandOption: true })
        .option("app", { alias: "A", type: "string" })
        .option("args", { alias: "a", type: "string", describe: "JSON array" })
        .option("kwargs", { alias: "k", type: "string", describe: "JSON object" })
        .option("queue", { alias: "Q", type: "string" })
        .option("countdown", { type: "number" })
        .option("priority", { type: "number" }),
    (argv) => call(argv as typeof argv & { task: string }),
  )
  .command(
    "result <id>",
    "Print a task's state and result as JSON",
    (y) =>
      y
        .positional("id", { type: "string", demandOption: true })
        .option("app", { alias: "A", type: "string" })
        .option("wait", { type: "number", describe: "seconds to wait for a ready state" }),
    (argv) => result(argv as typeof argv & { id: string }),
  )
  .command(
    "purge",
    "Remove all messages from task queues",
    (y) => y.option("app", { alias: "A", type: "string" }).option("queues", { alias: "Q", type: "string" }),
    (argv) => purge(argv),
  )
  .demandCommand(1)
  .strict()
  .fail((msg, err) => {
    process.stderr.write(`celeriac: ${redactText(err ? err.message : msg)}\n`);
    process.exit(2);
  })
  .parseAsync()
  .catch((err: Error) => {
    process.stderr.write(`celeriac: ${redactText(err.message)}\n`);
    process.exit(1);
  });
