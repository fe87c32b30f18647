import {
  CeleryError,
  ChordError,
  MaxRetriesExceededError,
  NotRegistered,
  RemoteError,
  Retry,
  SoftTimeLimitExceeded,
  TaskRevokedError,
  Terminated,
  TimeLimitExceeded,
  WorkerLostError,
} from "../../src";
import { errorToExceptionInfo, exceptionInfoToError } from "../../src/protocol/exceptions";
import { registerErrorClass } from "../../src/protocol/error-classes";

const stored = (exc_module: string, exc_type: string, exc_message: unknown[] = []) => exceptionInfoToError({ exc_type, exc_module, exc_message } as never, "Traceback ...");

test("Celery's and billiard's exceptions become their classes, with the stored fields", () => {
  const cases: Array<[string, string, unknown[], abstract new (...a: never[]) => Error]> = [
    ["billiard.exceptions", "TimeLimitExceeded", [1.5], TimeLimitExceeded],
    ["celery.exceptions", "TimeLimitExceeded", [2], TimeLimitExceeded],
    ["billiard.exceptions", "SoftTimeLimitExceeded", [], SoftTimeLimitExceeded],
    ["billiard.exceptions", "WorkerLostError", ["Worker exited prematurely: signal 9 (SIGKILL)."], WorkerLostError],
    ["billiard.exceptions", "Terminated", [15], Terminated],
    ["celery.exceptions", "TaskRevokedError", ["revoked"], TaskRevokedError],
    ["celery.exceptions", "NotRegistered", ["tasks.x"], NotRegistered],
    ["celery.exceptions", "ChordError", ["Dependency x raised ValueError('y')"], ChordError],
    ["celery.exceptions", "MaxRetriesExceededError", ["Can't retry"], MaxRetriesExceededError],
    ["celery.exceptions", "Retry", ["Retry in 1s", null, 1], Retry],
  ];
  for (const [module, type, args, cls] of cases) {
    const err = stored(module, type, args);
    expect({ type, instance: err instanceof cls }).toEqual({ type, instance: true });
    expect(err).toBeInstanceOf(CeleryError);
    expect(err).toMatchObject({ name: type, excType: type, excModule: module, excMessage: args, traceback: "Traceback ..." });
  }
});

test("other exceptions are RemoteError, a CeleryError with the same fields", () => {
  const err = stored("builtins", "KeyError", ["k"]);
  expect(err).toBeInstanceOf(RemoteError);
  expect(err).toBeInstanceOf(CeleryError);
  expect(err).toMatchObject({ name: "KeyError", message: "k", excModule: "builtins" });
  expect(stored("myapp", "TimeLimitExceeded")).toBeInstanceOf(RemoteError); // another module's class of that name
  expect(exceptionInfoToError("not a dict")).toBeInstanceOf(RemoteError);
});

test("a registered class is made from the stored args, and stored under its Python name (subclasses too)", () => {
  class InsufficientFunds extends Error {
    constructor(
      readonly account: string,
      readonly missing: number,
    ) {
      super(`${account} misses ${missing}`);
      this.name = "InsufficientFunds";
    }
  }
  class Overdraft extends InsufficientFunds {}
  registerErrorClass("bank.errors.InsufficientFunds", InsufficientFunds);
  const err = stored("bank.errors", "InsufficientFunds", ["acc-1", 30]);
  expect(err).toBeInstanceOf(InsufficientFunds);
  expect(err).toMatchObject({ account: "acc-1", missing: 30, excType: "InsufficientFunds", excModule: "bank.errors", traceback: "Traceback ..." });
  expect(errorToExceptionInfo(new InsufficientFunds("acc-2", 5))).toEqual({ exc_type: "InsufficientFunds", exc_module: "bank.errors", exc_message: ["acc-2 misses 5"] });
  expect(errorToExceptionInfo(new Overdraft("acc-3", 1))).toMatchObject({ exc_type: "InsufficientFunds", exc_module: "bank.errors" });
  // the round trip keeps the stored args
  expect(errorToExceptionInfo(err)).toEqual({ exc_type: "InsufficientFunds", exc_module: "bank.errors", exc_message: ["acc-1", 30] });

  class Refused extends CeleryError {}
  registerErrorClass("Refused", Refused);
  const refused = stored("builtins", "Refused", ["no"]);
  expect(refused).toBeInstanceOf(Refused);
  expect(refused).toMatchObject({ excType: "Refused", excMessage: ["no"], message: "no" });

  class Picky extends Error {
    constructor(a: unknown) {
      if (typeof a !== "number") throw new TypeError("a number please");
      super(String(a));
    }
  }
  registerErrorClass("picky.Picky", Picky);
  expect(stored("picky", "Picky", ["x"])).toBeInstanceOf(RemoteError); // its constructor refused the args
});
