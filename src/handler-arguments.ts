/**
 * How a task's args and Python kwargs become the handler's positional arguments: used by the
 * worker and by eager runs (`task.apply`). Pure.
 */
import type { WireValue } from "./protocol/message";

function hasKeys(o: object): boolean {
  for (const key in o) if (Object.hasOwn(o, key)) return true;
  return false;
}

/**
 * Positional arguments for the handler. With `params`, Python kwargs land on their declared
 * positions (an unknown or duplicate keyword is a TypeError, as in Python); without, a non-empty
 * kwargs object is passed as a trailing argument.
 */
export function handlerArguments(args: WireValue[], kwargs: { [key: string]: WireValue }, params: readonly string[] | undefined): unknown[] {
  if (!params) return hasKeys(kwargs) ? [...args, kwargs] : args;
  const out: unknown[] = [...args];
  for (const key of Object.keys(kwargs)) {
    const index = params.indexOf(key);
    if (index < 0) throw new TypeError(`got an unexpected keyword argument '${key}'`);
    if (index < args.length) throw new TypeError(`got multiple values for argument '${key}'`);
    out[index] = kwargs[key];
  }
  return out;
}
