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

test("node names expand %h, %n, %d and default to celery@host", () => {
  // celery/bin/worker.py: host_format(default_nodename(value)), run by Celery 5.2 with host='box.example.com'
  const py = JSON.parse(
    execFileSync("/usr/bin/python3", ["-c", "import json\nfrom celery.utils.nodenames import host_format, default_nodename\nprint(json.dumps([host_format(default_nodename(n), host='box.example.com') for n in ('w1@%h', 'w-%n@%d')]))"], {
      encoding: "utf8",
    }),
  ) as string[];
  expect([expandNodeName("w1@%h", "box.example.com"), expandNodeName("w-%n@%d", "box.example.com")]).toEqual(py);
  // default_nodename(None): NODENAME_DEFAULT 'celery' @ gethostname() (celery/utils/nodenames.py)
  expect(expandNodeName(undefined, "box.example.com")).toBe("celery@box.example.com");
  expect(expandNodeName("w1@%h", "box.example.com")).toBe("w1@box.example.com");
  expect(expandNodeName("w-%n@%d", "box.example.com")).toBe("w-box@example.com");
  expect(expandNodeName("solo", "box")).toBe("solo@box");
});
