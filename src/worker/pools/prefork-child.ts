/**
 * The entry of a prefork pool process (`dist/worker/pools/prefork-child.js`, forked by
 * prefork.ts with the app module's path, its name, ForkPoolWorker-<n>, and `ChildSettings` as
 * JSON; `measureRss` when max-memory-per-child is set): it runs the slot runner (slot-runner.ts) on its IPC channel,
 * once the pool's first message has given it the main process's resolved settings (`conf`, set on
 * the app it loads; sent over IPC, not in argv, which `ps` shows). It exits when the pool asks
 * (`shutdown`: retired) or the channel closes (the main process is gone), after the app's
 * workerProcessShutdown listeners. It ignores SIGINT. It contains errors that escape a task,
 * sends what it prints to the worker's log (worker_redirect_stdouts), and makes each job the
 * current task of the celeriac it belongs to (so tasks sent from a handler get their parent), see
 * slot-runner.ts.
 */
import { runInThisContext } from "node:vm";
import { runAsTask } from "../../current-task";
import { inRemoteContext } from "../../telemetry/spans";
import { SLOT_RUNNER } from "./slot-runner";
import type { SlotChannel, SlotHandle } from "./slot-runner";
import type { ChildConf, ParentMessage } from "./slot-protocol";

/** What the pool tells a child besides its module and name (the third argument, JSON). */
export interface ChildSettings {
  /** The worker's node name (workerProcessInit / workerProcessShutdown). */
  hostname: string;
  /** worker_redirect_stdouts. */
  redirect: boolean;
  /** max-memory-per-child is set: measure the resident set after each job. */
  measureRss: boolean;
}

const [appModule, name, settingsJson] = process.argv.slice(2);
const settings = JSON.parse(settingsJson ?? "{}") as Partial<ChildSettings>;
if (name) process.title = `celeriac ${name}`;
// As billiard's children: Ctrl-C reaches the whole process group, and the main process decides (warm shutdown waits for running tasks).
process.on("SIGINT", () => undefined);

const load = runInThisContext(`(function (require) {\n${SLOT_RUNNER}\nreturn runSlot;\n})`, { filename: "celeriac-slot-runner.js" }) as (
  req: NodeJS.Require,
) => (channel: SlotChannel) => SlotHandle;

/** The slot runner on this process's IPC channel, with the main process's settings. */
function start(conf: ChildConf): SlotHandle {
  return load(require)({
    appModule,
    conf,
    // The channel may be gone (the pool stopped this child, or the main process died): dropped.
    send: (message, then) => {
      if (process.connected && process.send) process.send(message, undefined, undefined, () => then?.());
      else then?.();
    },
    onMessage: (listener) => process.on("message", listener),
    // Only with max-memory-per-child (measuring costs a few µs a job).
    memory: settings.measureRss ? () => process.memoryUsage.rss() : undefined,
    // Errors that escape a task are logged against it by the pool; the child carries on (slot-runner.ts).
    guard: true,
    redirect: settings.redirect ?? false,
    hostname: settings.hostname ?? "",
    runAsTask,
    inTrace: inRemoteContext,
  });
}

// The pool's first message is the settings (`conf`): the app is loaded once they are here.
let slot: SlotHandle | null = null;
process.on("disconnect", () => (slot ? slot.shutdown() : process.exit(0)));
process.on("message", (m: ParentMessage) => {
  if (m.type === "conf" && !slot) slot = start(m.conf);
  else if (m.type === "shutdown") {
    if (slot) slot.shutdown();
    else process.exit(0);
  }
});
