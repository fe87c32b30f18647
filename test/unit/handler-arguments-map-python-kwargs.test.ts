import { handlerArguments } from "../../src/worker/request";
import { expandNodeName } from "../../src/cli/hostname";
import { execFileSync } from "child_process";

test("kwargs land on declared params, gaps stay undefined", () => {
  expect(handlerArguments([1], { z: 3 }, ["x", "y", "z"])).toEqual([1, undefined, 3]);
});

test("an unknown or duplicate keyword is a TypeError, as in Python", () => {
  expect(() => handlerArguments([], { q: 1 }, ["x"])).toThrow(TypeError);
  // Python: def f(x): ...; f(1, x=1) raises TypeError("f() got multiple values for argument 'x'")
  expect(() => handlerArguments([1], { x: 1 }, ["x"])).toThrow(/multiple values for argument 'x'/);
});

test("without params, kwargs arrive as a trailing object only when non-empty", () => {
  expect(handlerArguments([1, 2], {}, undefined)).toEqual([1, 2]);
  expect(handlerArguments([1], { k: "v" }, undefined)).toEqual([1, { k: "v" }]);
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
