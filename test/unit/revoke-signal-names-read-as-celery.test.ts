/**
 * The `signal` of revoke(terminate=True) read as Celery's Signals.signum reads it: a number as it
 * is, a name with or without "SIG", SIGTERM when none is given; an unknown one throws (Celery:
 * AttributeError) so nothing is terminated with it. Celery refuses lowercase names and digit
 * strings; celeriac reads them uppercased and as numbers.
 */
import { signalName, signalNumber } from "../../src/worker/signal-name";

test.each([
  [undefined, "SIGTERM"],
  [null, "SIGTERM"],
  ["", "SIGTERM"],
  ["TERM", "SIGTERM"],
  ["SIGKILL", "SIGKILL"],
  ["KILL", "SIGKILL"],
  ["kill", "SIGKILL"],
  [9, "SIGKILL"],
  ["9", "SIGKILL"],
  [10, "SIGUSR1"],
  ["HUP", "SIGHUP"],
])("%p reads as %s", (asked, name) => {
  expect(signalName(asked)).toBe(name);
});

test.each(["NOPE", "SIGNOPE", 999, "-1", "9x"])("%p is no signal: it throws", (asked) => {
  expect(() => signalName(asked)).toThrow(TypeError);
});

test("names have Linux's numbers, as Celery logs them (Terminating <id> (15))", () => {
  expect([signalNumber("SIGTERM"), signalNumber("SIGKILL"), signalNumber("SIGUSR1"), signalNumber("SIGINT")]).toEqual([15, 9, 10, 2]);
});
