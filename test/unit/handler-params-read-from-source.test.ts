import * as ts from "typescript";
import * as vm from "vm";
import { readDeclaredParams, type DeclaredParam } from "../../src/handler-params";

const names = (params: DeclaredParam[]): string[] => params.map((p) => (p.kind === "pattern" ? `<${p.text}>` : p.kind === "rest" ? `...${p.name}` : p.name));

/** The names read from a function, or the reason they could not be. */
function read(fn: (...args: never[]) => unknown): string[] | string {
  const r = readDeclaredParams(fn);
  return r.ok ? names(r.params) : r.reason;
}

/** `fn` as TypeScript compiles `source` (an expression) for `target`, evaluated. */
function compiled(source: string, target: ts.ScriptTarget): (...args: never[]) => unknown {
  const out = ts.transpileModule(`module.exports = ${source};`, { compilerOptions: { target, module: ts.ModuleKind.CommonJS } }).outputText;
  const mod = { exports: {} as unknown };
  vm.runInNewContext(out, { module: mod, exports: mod.exports, require });
  return mod.exports as (...args: never[]) => unknown;
}

/** A function written as JS source (forms TypeScript would rewrite). */
const js = (source: string) => vm.runInNewContext(source) as (...args: never[]) => unknown;

test("plain, arrow, async, generator and method forms", () => {
  expect(read(function resize(path: string, width: number) { return [path, width]; })).toEqual(["path", "width"]);
  expect(read((path: string, width: number) => [path, width])).toEqual(["path", "width"]);
  expect(read((x: number) => x)).toEqual(["x"]);
  expect(read(async (a: number, b: number) => a + b)).toEqual(["a", "b"]);
  expect(read(async function named(a: number) { return a; })).toEqual(["a"]);
  expect(read(function* gen(a: number) { yield a; })).toEqual(["a"]);
  const o = { method(this: void, a: number, b: number) { return a + b; }, async am(this: void, c: number) { return c; } };
  expect(read(o.method)).toEqual(["a", "b"]);
  expect(read(o.am)).toEqual(["c"]);
  expect(read(() => 1)).toEqual([]);
});

test("arrow functions with one bare parameter, as JS writes them", () => {
  expect(read(js("x => x"))).toEqual(["x"]);
  expect(read(js("async y => y"))).toEqual(["y"]);
});

test("default values with commas, brackets, strings, templates and comments", () => {
  const fn = js("(a = [1, 2], b = { c: (3, 4) }, /* a, comment */ d = 'x,)', e = `t${[5, 6]},`, f = (g, h) => g, // last\n i) => 0");
  expect(read(fn)).toEqual(["a", "b", "d", "e", "f", "i"]);
});

test("rest parameters and destructuring patterns are reported as such", () => {
  expect(read((first: number, ...rest: number[]) => [first, rest])).toEqual(["first", "...rest"]);
  expect(read(({ path }: { path: string }, [w]: number[]) => [path, w])).toEqual(["<{ path }>", "<[w]>"]);
});

test("bound functions and classes cannot be read", () => {
  expect(read(function (x: number) { return x; }.bind(null))).toBe("it is a bound or native function");
  expect(read(Math.max)).toBe("it is a bound or native function");
  expect(read(class A {} as unknown as () => unknown)).toBe("it is a class");
});

const TARGETS: [string, ts.ScriptTarget][] = [
  ["ES5", ts.ScriptTarget.ES5],
  ["ES2015", ts.ScriptTarget.ES2015],
  ["ES2017", ts.ScriptTarget.ES2017],
  ["ES2022", ts.ScriptTarget.ES2022],
];

test.each(TARGETS)("TypeScript's %s output keeps the names (async, defaults, bound ctx first)", (_label, target) => {
  expect(read(compiled("async (path: string, width: number = 100) => { await null; return [path, width]; }", target))).toEqual(["path", "width"]);
  expect(read(compiled("async function resize(this: unknown, ctx: unknown, path: string, opts: { w?: number } = {}) { return [ctx, path, opts]; }", target))).toEqual(["ctx", "path", "opts"]);
  expect(read(compiled("(x: number, y = `a,${1}`) => x", target))).toEqual(["x", "y"]);
});

test("a destructured rest parameter is still the rest", () => {
  expect(read((...[first]: unknown[]) => first)).toEqual(["...[first]"]);
});
