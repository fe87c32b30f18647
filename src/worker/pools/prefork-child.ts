/**
 * The entry of a prefork pool process (`dist/worker/pools/prefork-child.js`, forked by
 * prefork.ts with the app module's path, its name, ForkPoolWorker-<n>, and "rss" when
 * max-memory-per-child is set): it runs the slot
 * runner (slot-runner.ts) on its IPC channel. It exits when the channel closes: the pool retires
 * it, or the main process is gone. It ignores SIGINT. It contains errors that escape a task and
 * makes each job the current task of the celeriac it belongs to (so tasks sent from a handler get
 * their parent), see slot-runner.ts.
 */
import { runInThisContext } from "node:vm";
import { runAsTask } from "../../current-task";
import { SLOT_RUNNER } from "./slot-runner";
import type { SlotChannel } from "./slot-runner";

const [appModule, name, measure] = process.argv.slice(2);
if (name) process.title = `celeriac ${name}`;
process.on("disconnect", () => process.exit(0));
// As billiard's children: Ctrl-C reaches the whole process group, and the main process decides (warm shutdown waits for running tasks).
process.on("SIGINT", () => undefined);

const load = runInThisContext(`(function (require) {\n${SLOT_RUNNER}\nreturn runSlot;\n})`, { filename: "celeriac-slot-runner.js" }) as (
  req: NodeJS.Require,
) => (channel: SlotChannel) => void;

load(require)({
  appModule,
  // The channel may be gone (the pool stopped this child): the disconnect handler exits.
  send: (message, then) => {
    if (process.connected && process.send) process.send(message, undefined, undefined, () => then?.());
    else then?.();
  },
  onMessage: (listener) => process.on("message", listener),
  // Only with max-memory-per-child (prefork.ts passes "rss").
  memory: measure === "rss" ? () => process.memoryUsage.rss() : undefined,
  // Errors that escape a task are logged against it by the pool; the child carries on (slot-runner.ts).
  guard: true,
  runAsTask,
});
