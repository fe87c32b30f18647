// Percentiles of round-trip times.

/** { p50_ms, p99_ms } of `times` (ms; sorted in place), Python bench/py/roundtrip.py's way. */
function percentiles(times) {
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.round(p * (times.length - 1)))];
  return { p50_ms: q(0.5), p99_ms: q(0.99) };
}

module.exports = { percentiles };
