/**
 * `Jsonified<T>`: what a value of type `T` becomes once stored by the json result serializer (the
 * default, `resultSerializer: "json"`) and read back. A registered `Task<A, R>` gives
 * `AsyncResult<Jsonified<Awaited<R>>>`, so `get()` is typed as what actually arrives. Types only.
 *
 * - `Date` → `string` (kombu's ISO format, `"2024-01-02T03:04:05.123000Z"`).
 * - `Buffer`/`Uint8Array` → `Buffer` (kombu 5.3's bytes envelope, decoded back).
 * - `bigint` → `number | bigint` (exact integers beyond ±(2^53−1) stay bigint).
 * - `undefined`/`void` → `null`; a member whose value may be `undefined` becomes optional.
 * - `Map<K, V>` → an object of `V`s; `Set<V>` → `V[]`; an object with `toJSON()` → its result.
 * - class instances → plain objects of their data (methods and function members are dropped).
 *
 * With another result serializer (msgpack, yaml) some values arrive differently: name the
 * result type yourself, `app.AsyncResult<MyType>(id)`.
 */

/** True for `any` (which stays `any`: nothing is known about it). */
type IsAny<T> = 0 extends 1 & T ? true : false;

/** Member keys kept in an object: not functions, symbols, or members that are always undefined. */
type DataKeys<T> = {
  [K in keyof T]: K extends symbol ? never : [Exclude<T[K], undefined>] extends [never] ? never : Exclude<T[K], undefined> extends (...args: never[]) => unknown ? never : K;
}[keyof T];

/** The members whose value may be undefined (dropped when it is, so they become optional). */
type MaybeUndefinedKeys<T> = { [K in DataKeys<T>]: undefined extends T[K] ? K : never }[DataKeys<T>];

/** A plain object's members as json stores them. */
type JsonifiedObject<T> = {
  [K in Exclude<DataKeys<T>, MaybeUndefinedKeys<T>>]: Jsonified<T[K]>;
} & {
  [K in MaybeUndefinedKeys<T>]?: Jsonified<Exclude<T[K], undefined>>;
};

/** Flattens an intersection of object types into one object type (for readable hovers). */
type Flat<T> = { [K in keyof T]: T[K] };

/** What a value of type `T` is after a json round trip (see the module comment). */
export type Jsonified<T> =
  IsAny<T> extends true
    ? T
    : unknown extends T
      ? unknown
      : T extends string | number | boolean | null
        ? T
        : T extends undefined | void
          ? null
          : T extends bigint
            ? number | bigint
            : T extends Date
              ? string
              : T extends Uint8Array
                ? Buffer
                : T extends { toJSON(): infer J }
                  ? Jsonified<J>
                  : T extends (...args: never[]) => unknown
                    ? never
                    : T extends ReadonlyMap<infer _K, infer V>
                      ? { [key: string]: Jsonified<V> }
                      : T extends ReadonlySet<infer V>
                        ? Jsonified<V>[]
                        : T extends readonly unknown[]
                          ? { -readonly [I in keyof T]: Jsonified<T[I]> }
                          : Flat<JsonifiedObject<T>>;
