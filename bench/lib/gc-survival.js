// What a process's young generation kept, from its `node --trace-gc-nvp` lines: of the bytes
// allocated between scavenges, the share that survived one (copied) and the share promoted to old
// space. High shares mean something keeps short-lived objects alive (bench/NOTES.md, "What a
// drain promotes").

/**
 * Over the last `last` scavenges that followed at least 3 MB of allocation (startup's small ones
 * left out): { scavenges, survived, promoted } (shares of the allocated bytes).
 * @param {string[]} lines the process's stdout lines
 */
function gcSurvival(lines, last = 15) {
  const field = (k, l) => Number((new RegExp(` ${k}=([0-9.]+)`).exec(l) || [])[1] || 0);
  const rows = lines.filter((l) => l.includes("gc=s") && field("allocated", l) > 3e6).slice(-last);
  const sum = (k) => rows.reduce((s, l) => s + field(k, l), 0);
  const allocated = sum("allocated") || 1;
  return { scavenges: rows.length, survived: sum("new_space_survived") / allocated, promoted: sum("promoted") / allocated };
}

/** "survived a scavenge 6.9%, promoted 4.2% (15 scavenges)" */
function survivalText(s) {
  const pct = (x) => `${(100 * x).toFixed(1)}%`;
  return `survived a scavenge ${pct(s.survived)}, promoted ${pct(s.promoted)} (${s.scavenges} scavenges)`;
}

module.exports = { gcSurvival, survivalText };
