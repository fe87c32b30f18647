/**
 * The entry of a prefork pool process (`dist/worker/pools/prefork-child.js`, forked by
 * prefork.ts with the app module's path and its name, ForkPoolWorker-<n>): it runs the slot
 * runner (slot-runner.ts) on its IPC channel. It exits when the channel closes: the pool retires
 * it, or the main process is gone. It ignores SIGINT.
 */
import { runInThisContext } from "node:vm";
import { SLOT_RUNNER } from "./slot-runner";
import type { SlotChannel } from "./slot-runner";

const [appModule, name] = process.argv.slice(2);
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
  send: (message) => process.connected && process.send?.(message, undefined, undefined, () => undefined),
  onMessage: (listener) => process.on("message", listener),
  memory: () => process.memoryUsage().rss,
});
