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
  const rows = [["phase", "fault", "at s", "down s", "first task after s", "throughput back s"]];
  for (const p of phases) {
    for (const x of p.faults) {
      const what = x.kind === "worker-sigkill" ? `SIGKILL ${x.killed} -> ${x.replacement}` : `${p.phase} broker restart`;
      rows.push([p.phase, what, f(x.start / 1000), f((x.end - x.start) / 1000), f(x.recovery.firstTask), f(x.recovery.throughputBack)]);
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
      const max = (key) => (xs.some((x) => x.recovery[key] === null) ? "not reached" : f(Math.max(...xs.map((x) => x.recovery[key]))));
      if (xs.length) rows.push([p.phase, kind, xs.length, max("firstTask"), max("throughputBack")]);
    }
  }
  return table(rows);
}

/** Problems that fail the soak: an acks_late task lost or not completed, a worker that exited by itself. */
function problems(phases) {
  const out = [];
  for (const p of phases) {
    for (const [name, t] of Object.entries(p.tasks)) {
      if (t.sent === 0) out.push(`${p.phase}: no ${name} task was sent`);
      if (t.acksLate && t.lost > 0) out.push(`${p.phase}: ${t.lost} acks_late ${name} tasks lost: ${t.lostIds.slice(0, 10).join(", ")}`);
    }
    for (const x of p.unexpectedExits) out.push(`${p.phase}: worker ${x.instance} exited by itself (code ${x.code}, signal ${x.signal}), log ${x.log}`);
    for (const x of p.faults) if (x.recovery.firstTask === null) out.push(`${p.phase}: no task completed after the ${x.kind} at ${f(x.start / 1000)} s`);
  }
  return out;
}

module.exports = { tasksTable, faultsTable, longest, problems };
