/**
 * The argument types of task calls, computed from a handler's parameters `A` (and, for keyword
 * calls, the parameter names `N` declared as `params`). Types only.
 *
 * A signature's partial args are its last arguments: `mul.s(10)` applied after `add` runs
 * `mul(<add's result>, 10)`, as in Celery. So `s()` takes a suffix of `A` and the signature still
 * accepts the rest, the front (`Signature<Front, R>`).
 */
import type { ApplyOptions } from "./options";

/** The parameters of `A` before the suffix `T` (labels kept); an open tuple gives its first one. */
type HeadBefore<A extends unknown[], T extends unknown[]> = number extends A["length"]
  ? A extends [infer H, ...unknown[]]
    ? [H]
    : never
  : A extends [...infer H, ...T]
    ? H
    : never;

/**
 * Every way to cut `A` into a front (given later, or by an earlier chain step) and a back (given
 * now). Optional and rest parameters may be left to either side. `N` are the names of the back.
 */
type Cuts<A extends unknown[], N extends readonly string[], F extends unknown[] = []> = A extends [unknown, ...infer T]
  ? { front: F; back: A; names: N } | Cuts<T, N extends readonly [string, ...infer M extends string[]] ? M : [], [...F, ...HeadBefore<A, T>]>
  : number extends A["length"]
    ? { front: [...F, ...A]; back: A; names: [] }
    : { front: F; back: A; names: N } | { front: [...F, ...A]; back: []; names: [] };

/** The partial args `s()` accepts: any suffix of the parameters. */
export type PartialArgs<A extends unknown[]> = Cuts<A, []>["back"];

/** The parameters a signature made with the partial args `P` still accepts in front of them. */
export type RemainingArgs<A extends unknown[], P extends unknown[]> =
  Cuts<A, []> extends infer C ? (C extends { front: infer F extends unknown[]; back: infer B } ? (P extends B ? F : never) : never) : never;

/** A call's kwargs when there are none: `{}` (an empty object) is accepted, any key is an error. */
export type NoKwargs = { readonly [key: string]: never };

/**
 * The object types among `L` a handler can take as its trailing kwargs (not arrays, dates,
 * buffers or functions); `unknown` takes any.
 */
type KwargsObject<L> = unknown extends L
  ? { [key: string]: unknown }
  : Exclude<Extract<L, object>, readonly unknown[] | Date | Uint8Array | ((...args: never[]) => unknown)>;

/** `{ name: type }` of the parameters `B` named by `M` (optional parameters give optional keys). */
type NamedKwargs<B extends unknown[], M extends readonly string[]> = {
  [I in keyof B as I extends `${number}` ? (I extends keyof M ? (M[I] extends string ? M[I] : never) : never) : never]: B[I];
};

/** An object type with no members (`{}`): an object type it extends has no required key. */
type Empty = Record<never, never>;

/** One form of `applyAsync(args, kwargs, options)`; each argument optional when it may be left out. */
type CallForm<Args extends unknown[], Kw, O = ApplyOptions> = Empty extends Kw
  ? [] extends Args
    ? [args?: Args, kwargs?: Kw, options?: O]
    : [args: Args, kwargs?: Kw, options?: O]
  : [args: Args, kwargs: Kw, options?: O];

/** With `params` names: the first parameters positional, every later one by name. */
type NamedForms<A extends unknown[], N extends readonly string[], O> =
  Cuts<A, N> extends infer C
    ? C extends { front: infer F extends unknown[]; back: infer B extends unknown[]; names: infer M extends readonly string[] }
      ? B extends [] // everything positional
        ? CallForm<F, NoKwargs, O>
        : number extends B["length"] // a rest parameter cannot be given by name
          ? never
          : [Exclude<keyof B & `${number}`, keyof M>] extends [never] // every later parameter has a name
            ? CallForm<F, NamedKwargs<B, M>, O>
            : never
      : never
    : never;

/** The call form with the trailing object `L` as kwargs, if `L` can be one. */
type TrailingForm<I extends unknown[], L, O, Kw = KwargsObject<L>> = [Kw] extends [never] ? never : CallForm<I, Kw, O>;

/** Without names: a non-empty kwargs object arrives as the handler's last argument. */
type TrailingForms<A extends unknown[], O> =
  | CallForm<A, NoKwargs, O>
  | (number extends A["length"]
      ? TrailingForm<A, A[number], O>
      : A extends [...infer I, infer L]
        ? TrailingForm<I, L, O>
        : Required<A> extends [...infer I, infer L] // an optional trailing object
          ? TrailingForm<I, L | NoKwargs, O>
          : never);

/**
 * The argument lists of `applyAsync(args, kwargs, options)` for a handler taking `A`. With
 * `params` names `N` (a literal tuple), kwargs name the parameters after the positional ones
 * (`add.applyAsync([1], { y: 2 })`); without, a kwargs object is the handler's trailing object
 * parameter (`(x: number, opts: { scale: number })` → `applyAsync([1], { scale: 2 })`), as the
 * worker passes it. Names given as a plain `string[]` allow any name. `O`: the options' type
 * (`EagerApplyOptions` for `task.apply()`).
 */
export type ApplyArgs<A extends unknown[], N extends readonly string[], O = ApplyOptions> = number extends N["length"]
  ? CallForm<PartialFront<A>, { [key: string]: A[number] }, O>
  : N["length"] extends 0
    ? TrailingForms<A, O>
    : NamedForms<A, N, O> | CallForm<A, NoKwargs, O>;

/** Any front of `A` (the positional args of a call whose other args are named). */
type PartialFront<A extends unknown[]> = Cuts<A, []>["front"];

/** The kwargs of a signature: any of the named parameters (or the trailing object's keys). */
export type SignatureKwargs<A extends unknown[], N extends readonly string[]> = number extends N["length"]
  ? { [key: string]: A[number] }
  : N["length"] extends 0
    ? Partial<KwargsObject<number extends A["length"] ? A[number] : Required<A> extends [...unknown[], infer L] ? L : never>> | NoKwargs
    : Partial<NamedKwargs<Required<A>, N>>;
