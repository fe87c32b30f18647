/**
 * Building plain data from decoded input without letting a key reach the prototype: `__proto__`
 * (and every other key) becomes an ordinary own property, as JSON.parse makes it.
 */

/** Sets `key` as an own enumerable property (`out.__proto__ = v` would replace the prototype). */
export function setOwn<T>(out: { [k: string]: T }, key: string, value: T): void {
  if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** A decoder refused a value kombu's peers would not send (unknown extension type or tag). */
export class UnsupportedValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedValueError";
  }
}
