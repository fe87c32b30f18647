/**
 * How a task's args and Python kwargs become the handler's positional arguments: used by the
 * worker and by eager runs (`task.apply`). Pure.
 */
import type { WireValue } from "./protocol/message";
import type { RegisteredTask, TaskOptions } from "./task-types";
import { readDeclaredParams } from "./handler-params";

function hasKeys(o: object): boolean {
  for (const key in o) if (Object.hasOwn(o, key)) return true;
  return false;
}

/** What `handlerArguments` needs of a registered task. */
export type ArgumentsTarget = Pick<RegisteredTask, "name" | "handler"> & { options: Pick<TaskOptions, "params" | "bind"> };

/**
 * Positional arguments for the handler. Python kwargs land on the positions of the task's
 * `params`, or, without `params`, of the handler's declared parameters (read from its source;
 * a bound handler's first parameter, the context, is not one of them). An unknown or duplicate
 * keyword is a TypeError, as in Python; a handler with a rest parameter (`...args`) gets the
 * keywords it does not name as a trailing object. A TypeError naming `params` when the names
 * cannot be read (a bound or native function) or a parameter is a destructuring pattern.
 */
export function handlerArguments(args: WireValue[], kwargs: { [key: string]: WireValue }, task: ArgumentsTarget): unknown[] {
  if (!hasKeys(kwargs)) return args;
  const explicit = task.options.params;
  if (explicit) return placeKeywords(args, kwargs, explicit, false);
  const declared = readDeclaredParams(task.handler);
  const keys = Object.keys(kwargs).join(", ");
  const fix = `declare them with the task option params: [...]`;
  if (!declared.ok) {
    throw new TypeError(`${task.name}() got keyword arguments (${keys}) but its handler's parameter names cannot be read (${declared.reason}): ${fix}`);
  }
  const params = task.options.bind ? declared.params.slice(1) : declared.params;
  const names: string[] = [];
  let rest = false;
  for (const p of params) {
    if (p.kind === "pattern") {
      throw new TypeError(`${task.name}() got keyword arguments (${keys}) but its handler's parameter ${names.length + 1} is a destructuring pattern (${p.text}), which has no name to match: ${fix}`);
    }
    if (p.kind === "rest") rest = true;
    else names.push(p.name);
  }
  return placeKeywords(args, kwargs, names, rest);
}

/** Kwargs on the positions of `names`; with `rest`, the unnamed ones as a trailing object. */
function placeKeywords(args: WireValue[], kwargs: { [key: string]: WireValue }, names: readonly string[], rest: boolean): unknown[] {
  const out: unknown[] = [...args];
  const keys = Object.keys(kwargs);
  const unnamed: string[] = [];
  for (const key of keys) {
    const index = names.indexOf(key);
    if (index < 0) {
      if (!rest) throw new TypeError(`got an unexpected keyword argument '${key}'`);
      unnamed.push(key);
      continue;
    }
    if (index < args.length) throw new TypeError(`got multiple values for argument '${key}'`);
    out[index] = kwargs[key];
  }
  if (unnamed.length > 0) {
    // the rest parameter starts after the named ones
    while (out.length < names.length) out.push(undefined);
    out.push(unnamed.length === keys.length ? kwargs : ownCopy(kwargs, unnamed));
  }
  return out;
}

/** A plain object of `keys` of `from`, each an own property (`__proto__` too: never a prototype). */
function ownCopy(from: { [key: string]: WireValue }, keys: readonly string[]): { [key: string]: WireValue } {
  const copy: { [key: string]: WireValue } = {};
  for (const key of keys) Object.defineProperty(copy, key, { value: from[key], enumerable: true, writable: true, configurable: true });
  return copy;
}
