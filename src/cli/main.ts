#!/usr/bin/env node
/** `celeriac worker|call|result|purge`, mirroring the `celery` command. */
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { redactText } from "../redact";
import { clientApp, setCliUrls } from "./load-app";
import { registerBeatCommands } from "./beat";
import { registerControlCommands } from "./control";
import { runWorker, workerOptions } from "./worker-command";
import { confirm } from "./confirm";
import { isoTime, parseJson, secondsOrIsoTime, splitList } from "./lists";
import { isWireObject } from "../protocol/message";
import type { SerializerName } from "../protocol/serializers";

interface CallArgv {
  app?: string;
  task: string;
  args?: string;
  kwargs?: string;
  eta?: string;
  countdown?: number;
  expires?: number | string;
  serializer?: string;
  queue?: string;
  exchange?: string;
  "routing-key"?: string;
  priority?: number;
}

async function call(argv: CallArgv): Promise<void> {
  const app = await clientApp(argv.app);
  const args = parseJson(argv.args, "args", []);
  const kwargs = parseJson(argv.kwargs, "kwargs", {});
  if (!Array.isArray(args)) throw new Error("--args must be a JSON array");
  if (!isWireObject(kwargs)) throw new Error("--kwargs must be a JSON object");
  const r = await app.sendTask(argv.task, args, kwargs, {
    eta: argv.eta,
    countdown: argv.countdown,
    expires: argv.expires,
    serializer: argv.serializer as SerializerName | undefined,
    queue: argv.queue,
    exchange: argv.exchange,
    routingKey: argv["routing-key"],
    priority: argv.priority,
  });
  process.stdout.write(r.id + "\n");
  await app.close();
}

async function result(argv: { app?: string; id: string; wait?: number }): Promise<void> {
  const app = await clientApp(argv.app);
  const r = app.AsyncResult(argv.id);
  if (argv.wait !== undefined) await r.get({ timeout: argv.wait * 1000, propagate: false });
  const meta = await r.meta();
  process.stdout.write(JSON.stringify({ state: meta?.status ?? "PENDING", result: meta?.result ?? null, traceback: meta?.traceback ?? null }) + "\n");
  await app.close();
}

/** `celery purge`: asks first unless -f, then says how many messages it removed. */
async function purge(argv: { app?: string; queues?: string; "exclude-queues"?: string; force?: boolean }): Promise<void> {
  const app = await clientApp(argv.app);
  const excluded = new Set(splitList(argv["exclude-queues"]) ?? []);
  const queues = [...new Set(splitList(argv.queues) ?? [app.conf.taskDefaultQueue])].filter((q) => !excluded.has(q)).sort();
  if (!queues.length) return;
  const queuesHeadline = queues.length === 1 ? "queue" : "queues";
  if (!argv.force) {
    const question =
      `WARNING:This will remove all tasks from ${queuesHeadline}: ${queues.join(", ")}.\n` +
      "         There is no undo for this operation!\n\n(to skip this prompt use the -f option)\nAre you sure you want to delete all tasks?";
    if (!(await confirm(question))) {
      process.exitCode = 1;
      return;
    }
  }
  const transport = await app.connection();
  const n = await transport.purge(queues);
  process.stdout.write(
    n ? `Purged ${n} message${n === 1 ? "" : "s"} from ${queues.length} known task ${queuesHeadline}.\n` : `No messages purged from ${queues.length} ${queuesHeadline}.\n`,
  );
  await app.close();
}

const cli = yargs(hideBin(process.argv))
  .scriptName("celeriac")
  // celery's global options: they set CELERY_BROKER_URL / CELERY_RESULT_BACKEND, which beat the app's own.
  .option("broker", { alias: "b", type: "string", describe: "broker URL (sets CELERY_BROKER_URL)" })
  .option("result-backend", { type: "string", describe: "result backend URL (sets CELERY_RESULT_BACKEND)" })
  .middleware((argv) => setCliUrls({ broker: argv.broker, resultBackend: argv["result-backend"] }));

void registerControlCommands(registerBeatCommands(cli))
  .command("worker", "Start a worker", (y) => workerOptions(y), (argv) => runWorker(argv))
  .command(
    "call <task>",
    "Send a task and print its id",
    (y) =>
      y
        .positional("task", { type: "string", demandOption: true, describe: "the task's name" })
        .option("app", { alias: "A", type: "string", describe: "module exporting the Celery app (default: an app on -b or CELERY_BROKER_URL)" })
        .option("args", { alias: "a", type: "string", describe: "JSON array" })
        .option("kwargs", { alias: "k", type: "string", describe: "JSON object" })
        .option("eta", { type: "string", coerce: isoTime, describe: "scheduled time (ISO 8601)" })
        .option("countdown", { type: "number", describe: "eta in seconds from now" })
        .option("expires", { type: "string", coerce: secondsOrIsoTime, describe: "expiry time: seconds from now or ISO 8601" })
        .option("serializer", { type: "string", describe: "task serializer" })
        .option("queue", { alias: "Q", type: "string", describe: "custom queue name" })
        .option("exchange", { type: "string", describe: "custom exchange name" })
        .option("routing-key", { type: "string", describe: "custom routing key" })
        .option("priority", { type: "number", describe: "message priority" }),
    (argv) => call(argv as typeof argv & { task: string }),
  )
  .command(
    "result <id>",
    "Print a task's state and result as JSON",
    (y) =>
      y
        .positional("id", { type: "string", demandOption: true, describe: "the task's id" })
        .option("app", { alias: "A", type: "string", describe: "module exporting the Celery app (default: an app on -b or CELERY_BROKER_URL)" })
        .option("wait", { type: "number", describe: "seconds to wait for a ready state" }),
    (argv) => result(argv as typeof argv & { id: string }),
  )
  .command(
    "purge",
    "Remove all messages from task queues",
    (y) =>
      y
        .option("app", { alias: "A", type: "string", describe: "module exporting the Celery app (default: an app on -b or CELERY_BROKER_URL)" })
        .option("force", { alias: "f", type: "boolean", describe: "don't prompt for verification" })
        .option("queues", { alias: "Q", type: "string", describe: "comma-separated queues to purge" })
        .option("exclude-queues", { alias: "X", type: "string", describe: "comma-separated queues not to purge" }),
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
