// Top self-time of a V8 .cpuprofile within a time window (µs, CLOCK_MONOTONIC as process.hrtime):
//   node bench/profile/top.js <file.cpuprofile> [N]   (whole profile; N tasks → µs per task)
// drain.js calls topOfProfile with the drain's window, so startup and shutdown are left out.
const fs = require("node:fs");
const path = require("node:path");

const ROWS = Number(process.env.PROF_TOP || 25);

function label(frame) {
  const name = frame.functionName || "(anonymous)";
  if (!frame.url) return name;
  const url = frame.url.replace(/^file:\/\//, "");
  const m = /node_modules\/(.*)$/.exec(url);
  const where = m ? m[1] : url.includes("/dist/") ? url.slice(url.indexOf("/dist/") + 1) : path.basename(url);
  return `${name} ${where}:${frame.lineNumber + 1}`;
}

function fileOf(frame) {
  if (!frame.url) return frame.functionName || "(native)";
  const url = frame.url.replace(/^file:\/\//, "");
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  return url.includes("/dist/") ? url.slice(url.indexOf("/dist/") + 1) : url;
}

/** A text table of the top functions and files by self time, per task when `n` is given. */
function topOfProfile(profile, window = null, n = null) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const fn = new Map();
  const file = new Map();
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const prev = t;
    t += profile.timeDeltas[i];
    if (window && (t < window[0] || t > window[1])) continue;
    const dt = t - prev;
    const frame = byId.get(profile.samples[i]).callFrame;
    total += dt;
    const l = label(frame);
    fn.set(l, (fn.get(l) || 0) + dt);
    const f = fileOf(frame);
    file.set(f, (file.get(f) || 0) + dt);
  }
  const busy = total - (fn.get("(idle)") || 0);
  const rows = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, ROWS)
      .map(([k, us]) => `  ${((us / total) * 100).toFixed(1).padStart(5)}%${n ? ` ${(us / n).toFixed(2).padStart(6)} µs/task` : ""}  ${k}`)
      .join("\n");
  const head = `  window ${(total / 1000).toFixed(0)} ms, busy ${(busy / 1000).toFixed(0)} ms${n ? ` (${(busy / n).toFixed(1)} µs/task)` : ""}`;
  return `${head}\n  -- functions (self)\n${rows(fn)}\n  -- files (self)\n${rows(file)}`;
}

module.exports = { topOfProfile };

if (require.main === module) {
  const profile = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  console.log(topOfProfile(profile, null, process.argv[3] ? Number(process.argv[3]) : null));
}
