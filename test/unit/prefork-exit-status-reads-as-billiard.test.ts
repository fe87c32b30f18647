/**
 * How the prefork pool words a child's exit ("Process '...' exited with '<status>'", "Worker exited
 * prematurely: <status> Job: n.") is billiard's `human_status`, checked against billiard itself.
 */
import { execFileSync } from "node:child_process";
import { constants } from "node:os";
import { PYTHONS } from "../support/python";
import { humanStatus } from "../../src/worker/pools/prefork";

const CASES: Array<[number | null, NodeJS.Signals | null]> = [
  [null, "SIGKILL"],
  [null, "SIGTERM"],
  [null, "SIGSEGV"],
  [3, null],
  [0, null],
];

test.each(PYTHONS)("humanStatus matches billiard.common.human_status of $label", (py) => {
  // billiard reads a death by signal as the negative signal number.
  const statuses = CASES.map(([code, signal]) => (signal ? -constants.signals[signal] : (code as number)));
  const script = "import json,sys; from billiard.common import human_status; print(json.dumps([human_status(s) for s in json.loads(sys.stdin.read())]))";
  const expected = JSON.parse(execFileSync(py.exe, ["-c", script], { input: JSON.stringify(statuses), encoding: "utf8" })) as string[];
  expect(CASES.map(([code, signal]) => humanStatus(code, signal))).toEqual(expected);
});
