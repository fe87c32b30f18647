import { handlerArguments } from "../../src/worker/request";
import { expandNodeName } from "../../src/cli/hostname";

test("kwargs land on declared params, gaps stay undefined", () => {
  expect(handlerArguments([1], { z: 3 }, ["x", "y", "z"])).toEqual([1, undefined, 3]);
});

test("an unknown or duplicate keyword is a TypeError, as in Python", () => {
  expect(() => handlerArguments([], { q: 1 }, ["x"])).toThrow(TypeError);
  expect(() => handlerArguments([1], { x: 1 }, ["x"])).toThrow(/multiple values for argument 'x'/);
});

test("without params, kwargs arrive as a trailing object only when non-empty", () => {
  expect(handlerArguments([1, 2], {}, undefined)).toEqual([1, 2]);
  expect(handlerArguments([1], { k: "v" }, undefined)).toEqual([1, { k: "v" }]);
});

test("node names expand %h, %n, %d and default to celery@host", () => {
  expect(expandNodeName(undefined, "box.example.com")).toBe("celery@box.example.com");
  expect(expandNodeName("w1@%h", "box.example.com")).toBe("w1@box.example.com");
  expect(expandNodeName("w-%n@%d", "box.example.com")).toBe("w-box@example.com");
  expect(expandNodeName("solo", "box")).toBe("solo@box");
});
