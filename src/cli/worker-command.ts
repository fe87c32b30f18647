/**
 * `celeriac worker`, with `celery worker`'s options and meanings (checked against both Celerys'
 * `--help` in test/integration/cli-options-match-celery.test.ts): the banner before connecting,
 * `--purge`, `-X`, time limits, `-f/--logfile`, `--pidfile`, Celery's pool names, and the
 * signal handling of Celery's worker (warm, then cold shutdown).
 */
import { arch, release, type as osType } from "node:os";
import { openSync, writeSync } from "node:fs";
import type { Argv } from "yargs";
import { Logger, parseLogLevel, parseLogFormat } from "../logging";
import type { LogLevel } from "../logging";
import { parseAutoscale } from "../worker/autoscaler";
import type { Worker } from "../worker/worker";
import type { Celery } from "../celery";
import { workerBanner } from "./banner";
import { embedBeat } from "./beat";
import { workerControlOptions, workerControlSettings } from "./control";
import type { WorkerControlArgv } from "./control";
import { expandNodeName, nodeFormat } from "./hostname";
import { loadWorkerApp } from "./load-app";
import { createPidlock } from "./pidfile";
import { splitList } from "./lists";
import { applyCeleryConfig, readCeleryConfigFile, type AppliedCeleryConfig, type CelerySettingsObject } from "../config-file";
import { DEFAULT_NODE_NAME } from "../worker/worker-types";

/** The options of `celeriac worker`. */
export interface WorkerArgv extends WorkerControlArgv {
  app: string;
  queues?: string;
  "exclude-queues"?: string;
  concurrency?: number;
  hostname?: string;
  loglevel: string;
  "log-format"?: string;
  logfile?: string;
  pidfile?: string;
  "prefetch-multiplier"?: number;
  pool?: string;
  statedb?: string;
  "time-limit"?: number;
  "soft-time-limit"?: number;
  "max-tasks-per-child"?: number;
  "max-memory-per-child"?: number;
  autoscale?: { max: number; min: number };
  "metrics-port"?: number;
  "health-max-blocked"?: number;
  purge?: boolean;
  "without-gossip"?: boolean;
  "without-mingle"?: boolean;
  beat?: boolean;
  schedule?: string;
  config?: string;
}

type PoolKind = "eventloop" | "threads" | "prefork";

/** Celery's pool names (`-P`) and celeriac's own, with the pool each runs as. */
const POOLS: Record<string, { pool: PoolKind; concurrency?: number; note?: string }> = {
  prefork: { pool: "prefork" },
  processes: { pool: "prefork" },
  threads: { pool: "threads" },
  eventloop: { pool: "eventloop" },
  solo: { pool: "eventloop", concurrency: 1 },
  gevent: { pool: "eventloop", note: "the event loop pool, Node's equivalent of gevent's cooperative tasks" },
  eventlet: { pool: "eventloop", note: "the event loop pool, Node's equivalent of eventlet's green threads" },
};

/** Add the worker's options to `y`. */
export function workerOptions<T>(y: Argv<T>) {
  return workerControlOptions(
    y
      .option("app", { alias: "A", type: "string", demandOption: true, describe: "module exporting the Celery app" })
      .option("hostname", { alias: "n", type: "string", describe: "node name, e.g. node@%h (default celeriac@%h)" })
      .option("metrics-port", { type: "number", describe: "serve /metrics (Prometheus, celery-exporter's names; needs prom-client), /healthz and /readyz on this port" })
      .option("health-max-blocked", { type: "number", describe: "with --metrics-port: /healthz answers 503 once the event loop has been blocked this many seconds (default 10)" })
      .option("config", { type: "string", describe: "settings file with Celery's names (.json, .yaml, .cjs, .mjs); its task_queues are consumed without -Q" })
      .option("statedb", { alias: "S", type: "string", describe: "JSON file keeping revoked ids across restarts" })
      .option("loglevel", { alias: "l", type: "string", default: "info", describe: "DEBUG, INFO, WARNING, ERROR, CRITICAL or FATAL" })
      .option("log-format", { type: "string", choices: ["celery", "json"], default: "celery", describe: "celery: Celery's lines; json: one JSON object per line" })
      .option("prefetch-multiplier", { type: "number", describe: "messages reserved per concurrency slot (default workerPrefetchMultiplier, 4)" })
      .option("concurrency", { alias: "c", type: "number", describe: "tasks at once (prefork: child processes; default the number of CPUs)" })
      .option("pool", {
        alias: "P",
        type: "string",
        choices: Object.keys(POOLS),
        default: "prefork",
        describe: "prefork (processes: child processes, hard limits stop CPU-bound code), threads, eventloop (this process, for I/O-bound tasks; gevent and eventlet run as it), solo (eventloop, one task at a time)",
      })
      .option("time-limit", { type: "number", describe: "hard time limit of tasks (seconds)" })
      .option("soft-time-limit", { type: "number", describe: "soft time limit of tasks (seconds)" })
      .option("max-tasks-per-child", { type: "number", describe: "threads/prefork pool: replace a thread or child after N tasks" })
      .option("max-memory-per-child", { type: "number", describe: "threads/prefork pool: replace a thread (heap) or child (resident memory) past N KiB" })
      .option("purge", { alias: "discard", type: "boolean", describe: "purge the worker's queues before consuming" })
      .option("queues", { alias: "Q", type: "string", describe: "comma-separated queues" })
      .option("exclude-queues", { alias: "X", type: "string", describe: "comma-separated queues not to consume" })
      .option("without-gossip", { type: "boolean", describe: "accepted for Celery's scripts: celeriac has no gossip" })
      .option("without-mingle", { type: "boolean", describe: "accepted for Celery's scripts: celeriac does not mingle at startup" })
      .option("autoscale", { type: "string", coerce: parseAutoscale, describe: "MAX,MIN (or MAX, min 0): start MIN pool processes, grow up to MAX under load, shrink back after AUTOSCALE_KEEPALIVE seconds (30)" })
      .option("beat", { alias: "B", type: "boolean", describe: "also run the beat scheduler in this process" })
      .option("schedule", { alias: ["s", "schedule-filename"], type: "string", describe: "beat state file (with -B)" })
      .option("logfile", { alias: "f", type: "string", describe: "log destination; defaults to stderr (%n, %h, %d, %p, %i expand)" })
      .option("pidfile", { type: "string", describe: "PID file path; defaults to no PID file (%n, %h, %d, %p expand)" }),
  );
}

/** A log writer appending each line to `path` (Celery's -f). */
function fileWriter(path: string): (line: string) => void {
  const fd = openSync(path, "a");
  return (line) => writeSync(fd, line + "\n");
}

/** The queues the worker consumes: -Q (or the --config file's task_queues, or the default queue) without -X. */
function workerQueues(app: Celery, argv: WorkerArgv, fromFile: string[] | undefined): string[] {
  const excluded = new Set(splitList(argv["exclude-queues"]) ?? []);
  const queues = (splitList(argv.queues) ?? fromFile ?? [app.conf.taskDefaultQueue]).filter((q) => !excluded.has(q));
  if (!queues.length) throw new Error("no queue left to consume (-Q/-X exclude them all)");
  return queues;
}

/** The banner's concurrency field: `2 (prefork)`, or Celery's `{min=0, max=10} (prefork)`. */
function concurrencyField(w: Worker): string {
  const range = w.autoscaler?.info();
  return `${range ? `{min=${range.min}, max=${range.max}}` : w.concurrency} (${w.executor.kind})`;
}

function printBanner(app: Celery, w: Worker, events: boolean, logLevel: LogLevel): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the package's own version, read once
  const { version } = require("../../package.json") as { version: string };
  const text = workerBanner({
    hostname: w.hostname,
    version: `${version} (celeriac)`,
    platform: `${osType()}-${release()}-${arch()}-with-node-${process.version}`,
    now: new Date(),
    app: `${app.main}:0x${app.oid.replace(/-/g, "").slice(0, 12)}`,
    broker: app.conf.broker,
    backend: app.conf.backend,
    concurrency: concurrencyField(w),
    events,
    queues: w.queues.map((q) => ({ name: q, exchange: q, exchangeType: "direct", routingKey: q })),
    tasks: [...app.tasks.keys()],
    logLevel,
  });
  process.stdout.write(text + "\n");
}

/** `applyCeleryConfig` with the file named in its errors. */
function applyConfigFile(app: Parameters<typeof applyCeleryConfig>[0], path: string, settings: CelerySettingsObject): AppliedCeleryConfig {
  try {
    return applyCeleryConfig(app, settings);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Run `celeriac worker` until a signal stops it. */
export async function runWorker(argv: WorkerArgv): Promise<void> {
  const app = await loadWorkerApp(argv.app);
  // --config: settings with Celery's names (e.g. written by examples/django's management command)
  const fromFile = argv.config ? applyConfigFile(app, argv.config, await readCeleryConfigFile(argv.config)) : {};
  // without -n: celeriac@<host> (Celery's celery@<host> is the Python worker's)
  const hostname = expandNodeName(argv.hostname ?? `${DEFAULT_NODE_NAME}@%h`);
  const logLevel = parseLogLevel(argv.loglevel);
  const logger = new Logger(logLevel, argv.logfile ? fileWriter(nodeFormat(argv.logfile, hostname)) : undefined, {
    format: parseLogFormat(argv["log-format"]),
    sink: app.logger,
  });
  if (argv.pidfile) createPidlock(nodeFormat(argv.pidfile, hostname));
  // Celery's default pool: prefork, -c defaulting to the CPU count (worker.ts), so hard time limits stop CPU-bound code.
  const { pool, concurrency, note } = POOLS[argv.pool ?? "prefork"];
  if (note) logger.info(`-P ${argv.pool}: running ${note}`);
  // Celery's --time-limit/--soft-time-limit: the worker's defaults for tasks that set none.
  if (argv["time-limit"] !== undefined) app.conf.taskTimeLimit = argv["time-limit"];
  if (argv["soft-time-limit"] !== undefined) app.conf.taskSoftTimeLimit = argv["soft-time-limit"];
  const w = app.worker({
    queues: workerQueues(app, argv, fromFile.queues),
    concurrency: concurrency ?? argv.concurrency,
    hostname,
    prefetchMultiplier: argv["prefetch-multiplier"],
    logger,
    pool,
    appModule: argv.app,
    statedb: argv.statedb === undefined ? undefined : nodeFormat(argv.statedb, hostname),
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
  if (argv.purge) {
    // Celery's --purge: the worker's queues, before the banner and before consuming.
    const n = await (await app.connection()).purge([...w.queues]);
    if (n) process.stdout.write(`purge: Erased ${n} ${n === 1 ? "message" : "messages"} from the queue.\n\n`);
  }
  printBanner(app, w, Boolean(argv.events) || app.conf.workerSendTaskEvents, logLevel);
  await w.start();
  if (argv.beat) await embedBeat(app, w, argv);
}
