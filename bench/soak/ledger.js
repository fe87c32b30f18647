// Reading the ledger Redis: a sampler of the run counters (for recovery times) and the exact
// per-task tally (sent, completed, lost, duplicates) once a phase has drained.
const { TASKS } = require("./keys");

/** Samples `<prefix>:count` and `<prefix>:by-instance` every `everyMs`; times in ms since `t0`. */
class Sampler {
  constructor(ledger, k, t0, everyMs = 100) {
    this.samples = [];
    this.timer = setInterval(() => {
      // A sample the ledger could not give is skipped (logged); the next one comes `everyMs` later.
      this.sample(ledger, k, t0).catch((err) => console.error(`[soak] ledger sample failed: ${err.message}`));
    }, everyMs);
  }
  async sample(ledger, k, t0) {
    const t = Date.now() - t0;
    const [[, count], [, byInstance]] = await ledger.multi().get(k.count).hgetall(k.byInstance).exec();
    this.samples.push({ t, count: Number(count || 0), byInstance });
  }
  stop() {
    clearInterval(this.timer);
  }
  /** Runs counted at or before `t` (0 before the first sample). */
  countAt(t) {
    let c = 0;
    for (const s of this.samples) {
      if (s.t > t) break;
      c = s.count;
    }
    return c;
  }
  /** The first sample at or after `from` that satisfies `pred`, or null. */
  firstFrom(from, pred) {
    return this.samples.find((s) => s.t >= from && pred(s)) || null;
  }
}

/** Lost = sent ids never completed; duplicates = ids run more than once; extra = completed ids whose publish raised. */
async function tally(ledger, k) {
  const out = {};
  for (const task of TASKS) {
    const key = (w) => k.perTask(task.name, w);
    const [sent, failed, doneDistinct, completedOfSent] = await Promise.all([
      ledger.scard(key("sent")),
      ledger.scard(key("failed")),
      ledger.scard(key("done")),
      ledger.sintercard(2, key("sent"), key("done")),
    ]);
    const runs = (await ledger.hvals(key("runs"))).map(Number);
    const duplicated = runs.filter((n) => n > 1);
    const lostIds = completedOfSent < sent ? (await ledger.sdiff(key("sent"), key("done"))).slice(0, 50) : [];
    const lostDetail = [];
    for (const id of lostIds) lostDetail.push({ id, by: await ledger.hget(key("sent-by"), id), sentAtMs: Number(await ledger.zscore(key("sent-at"), id)) });
    out[task.name] = {
      acksLate: task.acksLate,
      sent,
      publishErrors: failed,
      completed: completedOfSent,
      lost: sent - completedOfSent,
      lostIds,
      lostDetail,
      duplicates: duplicated.length,
      extraRuns: duplicated.reduce((a, n) => a + n - 1, 0),
      completedUnconfirmed: doneDistinct - completedOfSent,
    };
  }
  return out;
}

module.exports = { Sampler, tally };
