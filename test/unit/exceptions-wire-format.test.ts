import * as fs from "fs";
import * as path from "path";
import {
  CeleryError,
  errorToExceptionInfo,
  exceptionInfoToError,
  excRepr,
  excStr,
  formatTraceback,
  maxRetriesExceeded,
  notRegistered,
  softTimeLimitExceeded,
  taskRevoked,
  timeLimitExceeded,
} from "../../src/protocol/exceptions";
import { pyJsonLoads } from "../../src/protocol/serializers/json";
import type { WireValue } from "../../src/protocol/message";
import type { ExceptionInfo } from "../../src/protocol/result-meta";
import { loadVector } from "../support/vectors";

const cases = (
  pyJsonLoads(fs.readFileSync(path.join(__dirname, "../fixtures/python-codec-cases.json"), "utf8")) as {
    exceptions: { type: string; args: WireValue[]; repr: string; str: string }[];
  }
).exceptions;

const resultOf = (name: string): ExceptionInfo => (loadVector(name).decoded as unknown as { result: ExceptionInfo }).result;

describe("exceptions", () => {
  test.each(cases.map((c) => [c.repr, c]))("excRepr/excStr match Python for %s", (_r, c) => {
    const info = { exc_type: c.type, exc_message: c.args, exc_module: "builtins" };
    expect(excRepr(info)).toBe(c.repr);
    expect(excStr(c.args)).toBe(c.str);
  });

  test("Celery's own exceptions have the captured wire form", () => {
    expect(notRegistered("tasks.not_registered")).toEqual(resultOf("backend-redis-failure-not-registered"));
    expect(taskRevoked("revoked")).toEqual(resultOf("backend-redis-revoked"));
    expect(taskRevoked("expired")).toEqual(resultOf("backend-redis-expired"));
    expect(timeLimitExceeded(1)).toEqual(resultOf("backend-redis-hard-time-limit"));
    expect(softTimeLimitExceeded()).toEqual(resultOf("backend-redis-soft-time-limit"));
    // not captured: celery/exceptions.py MaxRetriesExceededError, stored by celery.backends.base
    // Backend.prepare_exception as {exc_type: __qualname__, exc_message: exc.args, exc_module: __module__}
    expect(maxRetriesExceeded("x")).toEqual({ exc_type: "MaxRetriesExceededError", exc_message: ["x"], exc_module: "celery.exceptions" });
  });

  test("the task-failed event repr of NotRegistered matches the capture", () => {
    const events = loadVector("event-redis-task-multi").all_task_events_in_order as { type?: string; exception?: string }[];
    const captured = events.filter((e) => e.exception !== undefined).map((e) => e.exception);
    expect(captured).toContain("NotRegistered('tasks.not_registered')");
    expect(excRepr(notRegistered("tasks.not_registered"))).toBe("NotRegistered('tasks.not_registered')");
  });

  test("JS errors map to {exc_type, [message], celeriac.js}, TypeError to builtins", () => {
    // TypeError is Python's builtins.TypeError (error-classes.ts); other JS errors keep their names
    expect(errorToExceptionInfo(new TypeError("bad"))).toEqual({ exc_type: "TypeError", exc_message: ["bad"], exc_module: "builtins" });
    expect(errorToExceptionInfo(new RangeError("far"))).toEqual({ exc_type: "RangeError", exc_message: ["far"], exc_module: "celeriac.js" });
    class MyError extends Error {}
    expect(errorToExceptionInfo(new MyError("m")).exc_type).toBe("MyError");
    expect(errorToExceptionInfo(new Error()).exc_message).toEqual([]);
    const custom = Object.assign(new Error("x"), { excMessage: ["bad value", 42], excModule: "vecapp", name: "CustomError" });
    expect(errorToExceptionInfo(custom)).toEqual({ exc_type: "CustomError", exc_message: ["bad value", 42], exc_module: "vecapp" });
    expect(errorToExceptionInfo("boom")).toEqual({ exc_type: "Error", exc_message: ["boom"], exc_module: "celeriac.js" });
  });

  test("exception dicts become CeleryError and back", () => {
    const info = resultOf("backend-redis-failure-custom");
    const err = exceptionInfoToError(info, "tb");
    expect(err).toBeInstanceOf(CeleryError);
    expect(err.name).toBe("CustomError");
    expect(err.message).toBe("('custom failure', 7)");
    expect(err.excModule).toBe("vecapp");
    expect(err.traceback).toBe("tb");
    expect(errorToExceptionInfo(err)).toEqual(info);
    expect(exceptionInfoToError("weird").excType).toBe("Exception");
  });

  test("an exc_message that is not a list (older Celery wrote str(exc)) is the one arg", () => {
    const old = { exc_type: "ValueError", exc_message: "bad" };
    expect(exceptionInfoToError(old).excMessage).toEqual(["bad"]);
    expect(excRepr(old)).toBe("ValueError('bad')");
  });

  test("formatTraceback looks like a Python traceback", () => {
    const tb = formatTraceback(new RangeError("out of range"));
    expect(tb.startsWith("Traceback (most recent call last):\n  File ")).toBe(true);
    expect(tb.endsWith("\nRangeError: out of range\n")).toBe(true);
    expect(formatTraceback(new CeleryError("ValueError", ["bad value", 42], "builtins"))).toMatch(/\nValueError: \('bad value', 42\)\n$/);
    expect(formatTraceback(new CeleryError("CustomError", ["x"], "vecapp"))).toMatch(/\nvecapp\.CustomError: x\n$/);
  });
});
