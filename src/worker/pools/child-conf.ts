/**
 * The settings a threads or prefork child is given (slot-protocol.ts `ChildConf`): the main
 * process's resolved `app.conf`, so a task in a child sees what `--config`, `--time-limit` or code
 * run before the worker started set, as the main process does.
 */
import type { ChildConf } from "./slot-protocol";

/**
 * Every setting of `conf` that can be copied to another thread or process (structured clone); one
 * that cannot (a function: a routing function, an annotation's handler) is left out, and the child
 * keeps what its own app module set.
 */
export function childConf(conf: object): ChildConf {
  const out: ChildConf = {};
  for (const [key, value] of Object.entries(conf)) {
    try {
      out[key] = structuredClone(value);
    } catch {
      // not copyable: the child's own value stands
    }
  }
  return out;
}
