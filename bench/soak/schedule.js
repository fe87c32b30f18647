// The chaos schedule of one phase and the recovery figures of each fault.
//
// plan(): broker restarts at i/(n+1) of the phase's send time; a worker SIGKILL every `killEvery`
// seconds, skipping those within 2.5 s of a broker restart (each fault is measured on its own).
function plan({ durationS, killEvery, brokerRestarts }) {
  const restarts = Array.from({ length: brokerRestarts }, (_, i) => ((i + 1) * durationS) / (brokerRestarts + 1));
  const kills = [];
  for (let at = killEvery; at < durationS; at += killEvery) if (restarts.every((r) => Math.abs(r - at) >= 2.5)) kills.push(at);
  return [...restarts.map((at) => ({ at, kind: "broker-restart" })), ...kills.map((at) => ({ at, kind: "worker-sigkill" }))].sort((a, b) => a.at - b.at);
}

/**
 * Recovery of a fault that began at `start` and ended at `end` (broker answering again / killed
 * worker started again), in seconds from `start`:
 *  firstTask      the first task completed after `end`: by the replacement instance for a SIGKILL
 *                 while the producers still send for 1 s or more after it is back (later, the
 *                 others may hold every message left in their prefetch windows), else by any instance
 *  throughputBack the end of the first 1-s window after `end` with >= 80% of the send rate
 *                 `ratePerS` completed (null: none before the producers finished at `sentAt`)
 *  workLeft       whether any task at all completed after `end`: when the other workers had
 *                 drained everything by then, a replacement has nothing to run, and no first task
 *                 is not a failure to recover
 */
function recovery(sampler, { start, end, replacement }, ratePerS, sentAt) {
  const atEnd = sampler.countAt(end);
  const first = replacement && sentAt > end + 1000
    ? sampler.firstFrom(end, (s) => Number((s.byInstance || {})[replacement] || 0) > 0)
    : sampler.firstFrom(end, (s) => s.count > atEnd);
  const back = sampler.firstFrom(Math.max(end, start + 1000), (s) => s.t <= sentAt && s.count - sampler.countAt(s.t - 1000) >= 0.8 * ratePerS);
  const sec = (s) => (s ? (s.t - start) / 1000 : null);
  const last = sampler.samples[sampler.samples.length - 1];
  return { firstTask: sec(first), throughputBack: sec(back), workLeft: last ? last.count > atEnd : true };
}

module.exports = { plan, recovery };
