/**
 * `celeriac beat` (run the scheduler), `celeriac beat add|remove|list` (entries kept in Redis),
 * and `celeriac worker -B` (beat embedded in a worker).
 */
import type { Argv } from "yargs";
import type { CeleryClient } from "../app";
import { Beat } from "../beat/beat";
import { beatEntries } from "../beat/admin";
import type { BeatEntrySpec } from "../beat/entry";
import { Crontab, type ScheduleJSON, type SolarEvent } from "../beat/schedules";
import { Logger, parseLogLevel } from "../logging";
import type { WireObject, WireValue } from "../protocol/message";
import { clientApp, loadApp } from "./load-app";

interface RunArgv {
  app?: string;
  schedule?: string;
  loglevel: string;
  "max-interval"?: number;
  "redis-url"?: string;
}

interface AdminArgv {
  app?: string;
  "redis-url"?: string;
}

interface AddArgv extends AdminArgv {
  name: string;
  task: string;
  every?: number;
  cron?: string;
  solar?: string;
  args?: string;
  kwargs?: string;
  queue?: string;
  priority?: number;
  expires?: number;
  options?: string;
}

function json(text: string | undefined, what: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`--${what} is not valid JSON: ${(err as Error).message}`);
  }
}

function withRedisUrl(app: CeleryClient, url: string | undefined): CeleryClient {
  if (url) (app.conf as { beatSchedulerRedisUrl: string | null }).beatSchedulerRedisUrl = url;
  return app;
}

/** `celeriac beat`: run until SIGTERM/SIGINT. */
async function runBeat(argv: RunArgv): Promise<void> {
  if (!argv.app) throw new Error("celeriac beat needs -A <module exporting the Celery app>");
  const app = withRedisUrl(await loadApp(argv.app), argv["redis-url"]);
  const beat = new Beat(app, {
    scheduleFilename: argv.schedule,
    maxInterval: argv["max-interval"],
    logLevel: parseLogLevel(argv.loglevel),
  });
  process.stdout.write(beat.banner() + "\n\n");
  let stopping = false;
  const shutdown = () => {
    if (stopping) process.exit(1);
    stopping = true;
    const exit = (code: number) => () => process.exit(code);
    setTimeout(exit(1), 10_000).unref();
    void beat.stop().then(() => app.close()).then(exit(0), exit(1));
  };
  for (const sig of ["SIGTERM", "SIGINT", "SIGQUIT"] as const) process.on(sig, shutdown);
  await beat.start();
}

function scheduleFromArgs(argv: AddArgv): number | ScheduleJSON {
  const given = [argv.every !== undefined, argv.cron !== undefined, argv.solar !== undefined].filter(Boolean).length;
  if (given !== 1) throw new Error("give exactly one of --every <seconds>, --cron \"<m h dom mon dow>\", --solar <event>:<lat>:<lon>");
  if (argv.every !== undefined) return argv.every;
  if (argv.cron !== undefined) return Crontab.fromString(argv.cron).toJSON();
  const [event, lat, lon] = (argv.solar as string).split(":");
  return { type: "solar", event: event as SolarEvent, lat: Number(lat), lon: Number(lon) };
}

async function addEntry(argv: AddArgv): Promise<void> {
  const app = await clientApp(argv.app);
  const args = json(argv.args, "args") ?? [];
  const kwargs = json(argv.kwargs, "kwargs") ?? {};
  const options = (json(argv.options, "options") ?? {}) as { [k: string]: unknown };
  if (argv.queue !== undefined) options.queue = argv.queue;
  if (argv.priority !== undefined) options.priority = argv.priority;
  if (argv.expires !== undefined) options.expires = argv.expires;
  const spec: BeatEntrySpec = {
    task: argv.task,
    schedule: scheduleFromArgs(argv),
    args: args as WireValue[],
    kwargs: kwargs as WireObject,
    options,
  };
  const entries = beatEntries(app, argv["redis-url"]);
  try {
    const entry = await entries.add(argv.name, spec);
    process.stdout.write(`Added ${entry.name}: ${entry.task} ${entry.schedule.toString()}\n`);
  } finally {
    await entries.close();
  }
}

async function removeEntry(argv: AdminArgv & { name: string }): Promise<void> {
  const entries = beatEntries(await clientApp(argv.app), argv["redis-url"]);
  try {
    const removed = await entries.remove(argv.name);
    if (!removed) throw new Error(`no run-time entry named ${argv.name}`);
    process.stdout.write(`Removed ${argv.name}\n`);
  } finally {
    await entries.close();
  }
}

async function listEntries(argv: AdminArgv & { json?: boolean }): Promise<void> {
  const entries = beatEntries(await clientApp(argv.app), argv["redis-url"]);
  try {
    const list = await entries.list();
    if (argv.json) {
      process.stdout.write(JSON.stringify(list) + "\n");
      return;
    }
    const leader = await entries.leader();
    process.stdout.write(`leader: ${leader ?? "(none)"}\n`);
    for (const e of list) {
      process.stdout.write(
        `${e.name}  ${e.task}  ${e.schedule}  [${e.source}]  runs=${e.totalRunCount}` +
          `  last=${e.lastRunAt?.toISOString() ?? "-"}  next=${e.nextRunAt?.toISOString() ?? "-"}\n`,
      );
    }
  } finally {
    await entries.close();
  }
}

const adminOptions = <T>(y: Argv<T>) => y;

/** Adds `celeriac beat [add|remove|list]` to the CLI. */
export function registerBeatCommands<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "beat",
    "Start the beat scheduler, or edit its run-time entries (add|remove|list)",
    (b) =>
      b
        .command(
          "add <name>",
          "Add or replace a run-time schedule entry (kept in Redis)",
          (a) =>
            adminOptions(a)
              .positional("name", { type: "string", demandOption: true, describe: "the entry's name" })
              .option("task", { alias: "t", type: "string", demandOption: true, describe: "task name" })
              .option("every", { type: "number", describe: "interval in seconds" })
              .option("cron", { type: "string", describe: 'crontab "minute hour day_of_month month_of_year day_of_week"' })
              .option("solar", { type: "string", describe: "solar event: <event>:<lat>:<lon>" })
              .option("args", { alias: "a", type: "string", describe: "JSON array" })
              .option("kwargs", { alias: "k", type: "string", describe: "JSON object" })
              .option("queue", { alias: "Q", type: "string", describe: "queue the task is sent to" })
              .option("priority", { type: "number", describe: "message priority" })
              .option("expires", { type: "number", describe: "seconds after sending" })
              .option("options", { type: "string", describe: "JSON object of apply options" }),
          (argv) => addEntry(argv),
        )
        .command(
          "remove <name>",
          "Remove a run-time schedule entry",
          (a) => adminOptions(a).positional("name", { type: "string", demandOption: true, describe: "the entry's name" }),
          (argv) => removeEntry(argv),
        )
        .command(
          "list",
          "List schedule entries with their last and next runs",
          (a) => adminOptions(a).option("json", { type: "boolean", describe: "print JSON" }),
          (argv) => listEntries(argv),
        )
        .option("app", { alias: "A", type: "string", describe: "module exporting the Celery app" })
        .option("redis-url", { type: "string", describe: "Redis beat store: state, run-time entries, leader lease (default: beatSchedulerRedisUrl)" })
        .option("schedule", { alias: "s", type: "string", global: false, describe: "state file (default: beatScheduleFilename)" })
        .option("loglevel", { alias: "l", type: "string", global: false, default: "info", describe: "DEBUG, INFO, WARNING, ERROR, CRITICAL or FATAL" })
        .option("max-interval", { type: "number", global: false, describe: "longest sleep between checks, seconds" }),
    (argv) => runBeat(argv),
  );
}

/**
 * `celeriac worker -B`: run beat inside the worker process (its log lines say `Beat`). Stopping
 * the worker stops the beat first.
 */
export async function embedBeat(
  app: CeleryClient,
  worker: { logger: Logger; stop: (...args: never[]) => Promise<void> },
  argv: { schedule?: string; "max-interval"?: number },
): Promise<Beat> {
  const beat = new Beat(app, { scheduleFilename: argv.schedule, maxInterval: argv["max-interval"], logger: worker.logger, processName: "Beat" });
  const stopWorker: (...args: never[]) => Promise<void> = worker.stop.bind(worker);
  worker.stop = (...args: never[]) => beat.stop().catch(() => undefined).then(() => stopWorker(...args));
  await beat.start();
  return beat;
}
