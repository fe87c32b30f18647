/**
 * Type assertions for the compile-time tests of `test/types/` (checked by `npm run typecheck`,
 * never run): `Expect<Equal<Actual, Expected>>` fails to compile unless both types are the same.
 */

/** True when `X` and `Y` are the same type (not merely assignable either way). */
export type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;

/** Compiles only for `true`: `type _ = Expect<Equal<typeof x, number>>`. */
export type Expect<T extends true> = T;
