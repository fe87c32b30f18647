/**
 * The short chaos soak (bench/soak/run.js): a few thousand tasks from Python Celery and celeriac
 * producers into three celeriac CLI workers, on Redis (AOF) and on RabbitMQ, with one worker
 * SIGKILL and one broker restart per phase. Every run is counted in a ledger Redis that is never
 * restarted. acks_late tasks: none lost, on Redis (the consumer waits with BLMOVE without taking
 * anything, then pops and records in `unacked` atomically) as on RabbitMQ. Default acks:
 * losses reported (Celery semantics: a task acked on receipt dies with its worker) and every task
 * is accounted for. Uses its own ports (16397, 16398, 5707), not the jest global services. Build first.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";

const ROOT = resolve(__dirname, "..");

interface TaskTally {
  acksLate: boolean;
  sent: number;
  completed: number;
  lost: number;
  duplicates: number;
  lostIds: string[];
}
interface Fault {
  kind: "worker-sigkill" | "broker-restart";
  /** workLeft: tasks were still to run when the fault ended (else no recovery can be timed). */
  recovery: { firstTask: number | null; throughputBack: number | null; workLeft: boolean };
}
interface SoakResult {
  phases: Array<{ phase: string; tasks: Record<string, TaskTally>; faults: Fault[]; unexpectedExits: unknown[] }>;
  problems: string[];
}

function runShortSoak(): Promise<{ code: number; output: string; result: SoakResult }> {
  const args = ["--tasks=4800", "--rate=200", "--kill-every=3", "--broker-restarts=1", "--outage-s=2", "--redis-port=16397", "--ledger-port=16398", "--amqp-port=5707"];
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, [resolve(ROOT, "bench/soak/run.js"), ...args], { cwd: ROOT, timeout: 400_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const line = stdout.split("\n").find((l) => l.startsWith("SOAK_RESULT "));
      if (!line) {
        reject(new Error(`soak printed no result (${err?.message}):\n${stdout}\n${stderr}`));
        return;
      }
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolvePromise({ code, output: stdout.slice(0, stdout.indexOf("SOAK_RESULT ")), result: JSON.parse(line.slice("SOAK_RESULT ".length)) as SoakResult });
    });
  });
}

test("chaos soak: no acks_late task lost across worker SIGKILLs and Redis/RabbitMQ restarts, every fault recovered", async () => {
  const { code, output, result } = await runShortSoak();
  console.log(output); // the tables, default-acks losses ("allowed: acked on receipt") and any problem
  expect(result.problems).toEqual([]);
  expect(result.phases.map((p) => p.phase)).toEqual(["redis", "amqp"]);
  for (const p of result.phases) {
    const late = p.tasks["soak.late"];
    const early = p.tasks["soak.early"];
    expect({ phase: p.phase, sent: late.sent > 0, lost: late.lost, completed: late.completed }).toEqual({
      phase: p.phase,
      sent: true,
      lost: 0,
      completed: late.sent,
    });
    expect(early.sent).toBeGreaterThan(0);
    expect(early.completed + early.lost).toBe(early.sent);
    expect(p.unexpectedExits).toEqual([]);
    for (const kind of ["worker-sigkill", "broker-restart"]) {
      const faults = p.faults.filter((f) => f.kind === kind);
      expect({ phase: p.phase, kind, count: faults.length > 0 }).toEqual({ phase: p.phase, kind, count: true });
      // A fault that outlasted the work (a broker restart slow under load) has no task after it to time;
      // one with work left must see a task complete after it.
      for (const f of faults) expect({ kind, recovered: f.recovery.firstTask !== null || !f.recovery.workLeft }).toEqual({ kind, recovered: true });
    }
  }
  expect(code).toBe(0);
}, 420_000);
