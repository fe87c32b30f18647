// The soak's printed tables and its verdict.
const f = (x, d = 1) => (x === null || x === undefined ? "-" : Number(x).toFixed(d));

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i])).join(" | ")).join("\n");
}

function tasksTable(phases) {
  const rows = [["phase", "task (acks)", "sent", "publish errors", "completed", "lost", "duplicates (extra runs)", "completed, publish had raised"]];
  for (const p of phases) {
    for (const [name, t] of Object.entries(p.tasks)) {
      const lost = t.acksLate ? String(t.lost) : `${t.lost} (allowed: acked on receipt)`;
      rows.push([p.phase, `${name} (${t.acksLate ? "acks_late" : "default acks"})`, t.sent, t.publishErrors, t.completed, lost, `${t.duplicates} (${t.extraRuns})`, t.completedUnconfirmed]);
    }
  }
  return table(rows);
}

function faultsTable(phases) {
  const rows = [["phase", "fault", "at s", "down s", "first task after s", "throughput back s (>= 80% of send rate)"]];
  for (const p of phases) {
    for (const x of p.faults) {
      const what = x.kind === "worker-sigkill" ? `SIGKILL ${x.killed} -> ${x.replacement}` : `${p.phase} broker restart`;
      const first = x.recovery.firstTask === null && !x.recovery.workLeft ? "- (nothing left to run)" : f(x.recovery.firstTask);
      rows.push([p.phase, what, f(x.start / 1000), f((x.end - x.start) / 1000), first, f(x.recovery.throughputBack)]);
    }
  }
  return table(rows);
}

/** Longest recovery per phase and fault kind. */
function longest(phases) {
  const rows = [["phase", "fault kind", "count", "longest first task after s", "longest throughput back s"]];
  for (const p of phases) {
    for (const kind of ["worker-sigkill", "broker-restart"]) {
      const xs = p.faults.filter((x) => x.kind === kind);
      const max = (key) => {
        const got = xs.map((x) => x.recovery[key]).filter((v) => v !== null);
        const missing = xs.length - got.length;
        return `${got.length ? f(Math.max(...got)) : "-"}${missing ? ` (${missing} not measured)` : ""}`;
      };
      if (xs.length) rows.push([p.phase, kind, xs.length, max("firstTask"), max("throughputBack")]);
    }
  }
  return table(rows);
}

/**
 * The fault (if any) an acks_late loss falls near, to help read a failure: sent within 0.5 s of a
 * SIGKILL, or between a broker stop and 0.5 s after it answered again. (Before the Redis consumer
 * waited with BLMOVE, this was where kombu's BRPOP-then-HSET gap lost messages.)
 */
function faultWindow(p, lost) {
  const at = lost.sentAtMs - p.t0;
  const hit = p.faults.find((x) => (x.kind === "worker-sigkill" ? Math.abs(at - x.start) <= 500 : at >= x.start - 500 && at <= x.end + 500));
  return hit ? `${hit.kind} at ${f(hit.start / 1000)} s` : null;
}

/**
 * Everything that fails the soak: any acks_late loss (on either broker, each shown with the fault
 * it falls near, if any), a worker that exited by itself, a fault never recovered from.
 */
function verdict(phases) {
  const problems = [];
  for (const p of phases) {
    for (const [name, t] of Object.entries(p.tasks)) {
      if (t.sent === 0) problems.push(`${p.phase}: no ${name} task was sent`);
      if (!t.acksLate || t.lost === 0) continue;
      const shown = t.lostDetail.map((x) => ({ ...x, window: faultWindow(p, x) }));
      const line = shown.map((x) => `${x.id} (${x.by}, sent at ${f((x.sentAtMs - p.t0) / 1000, 2)} s${x.window ? `, near the ${x.window}` : ""})`).join(", ");
      problems.push(`${p.phase}: ${t.lost} acks_late ${name} tasks lost: ${line}`);
    }
    for (const x of p.unexpectedExits) problems.push(`${p.phase}: worker ${x.instance} exited by itself (code ${x.code}, signal ${x.signal}), log ${x.log}`);
    for (const x of p.faults) if (x.recovery.firstTask === null && x.recovery.workLeft) problems.push(`${p.phase}: no task completed after the ${x.kind} at ${f(x.start / 1000)} s`);
  }
  return { problems };
}

module.exports = { tasksTable, faultsTable, longest, verdict };
