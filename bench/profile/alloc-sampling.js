// `node --require bench/profile/alloc-sampling.js ...`: samples every allocation of the process
// (objects collected since included, unlike --heap-prof, which keeps only what is still alive)
// and at exit writes ALLOC_OUT (default .tmp/profiles/alloc-<pid>.txt): the total sampled, the
// bytes by area (the nearest caller in celeriac's dist or in a package) and the top allocation
// sites by self size. Used by amqp-drain.js ALLOC=1.
// ALLOC_MINOR=0: leave out what a scavenge collected, so the profile holds only what outlived the
// young generation (promoted to old space, or still alive): where promotion comes from.
const inspector = require("node:inspector");
const fs = require("node:fs");
const path = require("node:path");

const out = process.env.ALLOC_OUT || path.resolve(__dirname, "../../.tmp/profiles", `alloc-${process.pid}.txt`);
const session = new inspector.Session();
session.connect();
session.post("HeapProfiler.enable");
session.post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env.ALLOC_MINOR !== "0" });

function areaOf(url, inherited) {
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return url.slice(nm + "node_modules/".length).split("/")[0];
  const dist = url.lastIndexOf("/dist/");
  if (dist >= 0) return "celeriac " + url.slice(dist + "/dist/".length).split("/").slice(0, -1).join("/");
  return inherited;
}

process.on("exit", () => {
  session.post("HeapProfiler.stopSampling", (err, result) => {
    if (err) return;
    const sites = new Map();
    const areas = new Map();
    let total = 0;
    const walk = (node, inherited) => {
      const cf = node.callFrame;
      const area = areaOf(cf.url || "", inherited);
      const site = `${cf.functionName || "(anonymous)"} ${(cf.url || "").split("/").slice(-2).join("/")}:${cf.lineNumber + 1}`;
      sites.set(site, (sites.get(site) || 0) + node.selfSize);
      areas.set(area, (areas.get(area) || 0) + node.selfSize);
      total += node.selfSize;
      for (const child of node.children) walk(child, area);
    };
    walk(result.profile.head, "node / other");
    const mb = (n) => `${(n / 1048576).toFixed(1).padStart(7)} MB`;
    const lines = [`total sampled ${mb(total)}`, "-- by area (nearest caller in dist/ or a package)"];
    for (const [k, v] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, 20)) lines.push(`${mb(v)}  ${k}`);
    lines.push("-- by allocation site (self)");
    for (const [k, v] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, 40)) lines.push(`${mb(v)}  ${k}`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, lines.join("\n") + "\n");
  });
});
