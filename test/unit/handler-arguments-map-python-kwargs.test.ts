import { handlerArguments } from "../../src/worker/request";
import { expandNodeName } from "../../src/cli/hostname";
import { execFileSync } from "child_process";

const task = (handler: (...args: never[]) => unknown, options: { params?: string[]; bind?: boolean } = {}) => ({ name: "tasks.t", handler, options });

test("kwargs land on declared params, gaps stay undefined", () => {
  expect(handlerArguments([1], { z: 3 }, task(() => 0, { params: ["x", "y", "z"] }))).toEqual([1, undefined, 3]);
});

test("an unknown or duplicate keyword is a TypeError, as in Python", () => {
  expect(() => handlerArguments([], { q: 1 }, task(() => 0, { params: ["x"] }))).toThrow(TypeError);
  // Python: def f(x): ...; f(1, x=1) raises TypeError("f() got multiple values for argument 'x'")
  expect(() => handlerArguments([1], { x: 1 }, task(() => 0, { params: ["x"] }))).toThrow(/multiple values for argument 'x'/);
  expect(() => handlerArguments([], { q: 1 }, task((x: number) => x))).toThrow(/unexpected keyword argument 'q'/);
  expect(() => handlerArguments([1], { x: 1 }, task((x: number) => x))).toThrow(/multiple values for argument 'x'/);
});

test("without params, kwargs land on the handler's declared parameter names", () => {
  expect(handlerArguments([1, 2], {}, task((a: number, b: number) => a + b))).toEqual([1, 2]);
  // resize.delay(path=..., width=...) to a plain handler
  const resize = (path: string, width = 100, height?: number) => [path, width, height];
  expect(handlerArguments([], { width: 640, path: "/a.png" }, task(resize))).toEqual(["/a.png", 640]);
  expect(handlerArguments(["/a.png"], { height: 9 }, task(resize))).toEqual(["/a.png", undefined, 9]);
  expect(handlerArguments([], { b: 2, a: 1 }, task(function add(a: number, b: number) { return a + b; }))).toEqual([1, 2]);
});

test("a bound handler's first parameter (the context) is not a keyword target", () => {
  expect(handlerArguments([], { x: 5 }, task((ctx: unknown, x: number) => [ctx, x], { bind: true }))).toEqual([5]);
  expect(() => handlerArguments([], { ctx: 5 }, task((ctx: unknown, x: number) => [ctx, x], { bind: true }))).toThrow(/unexpected keyword argument 'ctx'/);
});

test("a rest parameter gets the keywords it does not name as a trailing object", () => {
  expect(handlerArguments([1], { k: "v" }, task((...args: unknown[]) => args))).toEqual([1, { k: "v" }]);
  expect(handlerArguments([], { first: 1, k: "v" }, task((first: number, ...rest: unknown[]) => [first, rest]))).toEqual([1, { k: "v" }]);
  // a __proto__ keyword stays an own key of the trailing object, never its prototype
  const kwargs = JSON.parse('{"first": 1, "__proto__": {"polluted": 1}}') as { [key: string]: never };
  const [, extra] = handlerArguments([], kwargs, task((first: number, ...rest: unknown[]) => [first, rest])) as [number, object];
  expect(Object.getPrototypeOf(extra)).toBe(Object.prototype);
  expect(Object.getOwnPropertyDescriptor(extra, "__proto__")?.value).toEqual({ polluted: 1 });
});

test("a destructured parameter or an unreadable handler is a TypeError that names params", () => {
  expect(() => handlerArguments([], { path: "p" }, task(({ path }: { path: string }) => path))).toThrow(/destructuring pattern \(\{ path \}\).*params/);
  const bound = function (this: unknown, x: number) { return x; }.bind(null);
  expect(() => handlerArguments([], { x: 1 }, task(bound))).toThrow(/tasks\.t\(\) got keyword arguments \(x\).*bound or native function.*params/);
  // with params given, the declared names are not read at all
  expect(handlerArguments([], { path: "p" }, task(({ path }: { path: string }) => path, { params: ["path"] }))).toEqual(["p"]);
});

test("node names as Celery's -n: %h, %n, %d expanded, a value without @ is the host of celery@<value>", () => {
  // celery/bin/worker.py: host_format(default_nodename(value)), run by Celery 5.2 with host='box.example.com'
  const names = ["w1@%h", "w-%n@%d", "solo", "%h", "@%h", "w-%n"];
  const py = JSON.parse(
    execFileSync("/usr/bin/python3", ["-c", "import json, sys\nfrom celery.utils.nodenames import host_format, default_nodename\nprint(json.dumps([host_format(default_nodename(n), host='box.example.com') for n in json.loads(sys.argv[1])]))", JSON.stringify(names)], {
      encoding: "utf8",
    }),
  ) as string[];
  expect(names.map((n) => expandNodeName(n, "box.example.com"))).toEqual(py);
  expect(expandNodeName("solo", "box")).toBe("celery@solo");
  // default_nodename(None): NODENAME_DEFAULT 'celery' @ gethostname() (celery/utils/nodenames.py)
  expect(expandNodeName(undefined, "box.example.com")).toBe("celery@box.example.com");
});
