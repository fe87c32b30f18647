// Summarize a V8 .cpuprofile: self time per function and per package/file, optionally only for
// the samples inside a time window (monotonic µs, the clock V8 and process.hrtime share on Linux).
//
//   node bench/profile/summarize.js FILE.cpuprofile [TOP]
const fs = require("node:fs");
const path = require("node:path");

function shortUrl(url) {
  if (!url) return "(native)";
  const u = url.replace(/^file:\/\//, "");
  const nm = u.lastIndexOf("node_modules/");
  if (nm >= 0) return u.slice(nm + "node_modules/".length);
  const dist = u.lastIndexOf("/dist/");
  if (dist >= 0) return u.slice(dist + 1);
  if (u.startsWith("node:")) return u;
  return path.basename(u);
}

/** The part of the program a sample belongs to: the nearest caller frame from a known place. */
const AREAS = [
  ["amqplib", "amqplib"],
  ["/transport/amqp/", "celeriac transport/amqp"],
  ["ioredis", "ioredis"],
  ["/backend/", "celeriac backend"],
  ["/protocol/", "celeriac protocol"],
  ["/worker/", "celeriac worker"],
  ["/events/", "celeriac events"],
  ["/dist/", "celeriac other"],
];

function areaOf(id, byId, parent) {
  const name = byId.get(id).callFrame.functionName;
  if (name === "(garbage collector)" || name === "(idle)" || name === "(program)") return name;
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const url = byId.get(cur).callFrame.url || "";
    for (const [part, area] of AREAS) if (url.includes(part)) return area;
  }
  return "node internals (no caller above)";
}

/** Top self-time functions and files of a profile, and self time by area (samples within `window` when given). */
function summarize(profile, { window = null, top = 35 } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const self = new Map();
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (window && (t < window[0] || t > window[1])) continue;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i];
    self.set(id, (self.get(id) || 0) + dt);
    total += dt;
  }
  const fn = new Map();
  const file = new Map();
  const area = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const where = shortUrl(cf.url);
    const key = `${cf.functionName || "(anonymous)"} ${where}:${cf.lineNumber + 1}`;
    fn.set(key, (fn.get(key) || 0) + us);
    const fkey = where.startsWith("amqplib") || where.startsWith("ioredis") ? where.split("/").slice(0, 1).join("/") + "/" + where.split("/").pop() : where;
    file.set(fkey, (file.get(fkey) || 0) + us);
    const a = areaOf(id, byId, parent);
    area.set(a, (area.get(a) || 0) + us);
  }
  const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const lines = [`total sampled ${(total / 1000).toFixed(0)} ms`, "-- self time by function"];
  for (const [k, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`${pct(us)} ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  lines.push("-- self time by area (nearest caller from a known place)");
  for (const [k, us] of [...area].sort((a, b) => b[1] - a[1])) lines.push(`${pct(us)} ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  lines.push("-- self time by file");
  for (const [k, us] of [...file].sort((a, b) => b[1] - a[1]).slice(0, 25)) lines.push(`${pct(us)} ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  return lines.join("\n");
}

if (require.main === module) {
  const profile = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  console.log(summarize(profile, { top: Number(process.argv[3] || 40) }));
}

module.exports = { summarize };
