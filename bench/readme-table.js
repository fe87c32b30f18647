// `npm run bench:readme`: rewrites the README's benchmark section (between <!-- bench:start --> and
// <!-- bench:end -->) from the last full run, bench/results/latest.json (`npm run bench`), and
// bench/results/depth.json (`npm run bench:depth`) when there is one. A partial run (BENCH_WORKERS,
// BENCH_BROKERS, BENCH_SECTIONS, BENCH_TASK or BENCH_BASELINE set) is refused unless --partial.
//   node bench/readme-table.js [--partial] [--print]   (--print: write the section to stdout only)
const fs = require("node:fs");
const path = require("node:path");
const { ROOT } = require("./lib/config");
const { fmt } = require("./lib/report");
const { readResults } = require("./lib/results");

const START = "<!-- bench:start -->";
const END = "<!-- bench:end -->";
const PARTIAL = ["BENCH_WORKERS", "BENCH_BROKERS", "BENCH_SECTIONS", "BENCH_TASK", "BENCH_BASELINE"];
const BROKER_NAMES = { redis: "Redis", amqp: "RabbitMQ" };

const rate = (x) => (x === undefined ? "" : `${fmt(x)}/s`);
const ratioList = (ratios) => ratios.map((r) => `${r.of} / ${r.to} = ${r.value.toFixed(2)}x`).join("; ");

/** "Measured ... on <date> on <machine>: <versions>". */
function provenance(run) {
  const { machine: m, versions: v } = run;
  return (
    `on ${run.date.slice(0, 10)}, ${m.cores} cores (${m.cpuModel}), ${m.ramGb} GB RAM, ${m.os}: celeriac ${v.celeriac}, Node ${v.node}, ` +
    `Python Celery ${v.pythonCelery}, celery-node ${v.celeryNode}, BullMQ ${v.bullmq}, Redis ${v.redis}, RabbitMQ ${v.rabbitmq}`
  );
}

/** The drain table: one row per worker, a column per broker and mode, then CPU, RSS, round trips on Redis with results. */
function drainTable(run) {
  const kinds = Object.keys(run.drains);
  const rows = kinds.flatMap((k) => run.drains[k].rows).filter((r) => !r.baselineOf);
  const labels = [...new Set(rows.map((r) => r.label))];
  const find = (label, kind, ignoreResult) => run.drains[kind]?.rows.find((r) => r.label === label && r.ignoreResult === ignoreResult);
  const detail = kinds.includes("redis") ? "redis" : kinds[0];
  const rt = (r) => {
    if (!r?.rt) return "";
    if (r.rt.bullmq) return `${fmt(r.rt.bullmq.p50_ms, 2)} ms (BullMQ client)`;
    const p50 = (c) => (!c || c.failed ? "failed" : fmt(c.p50_ms, 2));
    return `${p50(r.rt.py)} / ${p50(r.rt.ts)} ms`;
  };
  const modes = kinds.flatMap((k) => [
    [k, false],
    [k, true],
  ]);
  const head = ["worker", ...modes.map(([k, ig]) => `${BROKER_NAMES[k]}, ${ig ? "ignore_result" : "results"}`), "worker CPU per task¹", "RSS start / idle / peak¹", "round trip p50, Python / celeriac client¹"];
  const lines = [`| ${head.join(" | ")} |`, `|---|${head.slice(1).map(() => "---:").join("|")}|`];
  for (const label of labels) {
    const d = find(label, detail, false);
    const cells = [
      label,
      ...modes.map(([k, ig]) => rate(find(label, k, ig)?.tasksPerSec)),
      d ? `${fmt(d.cpuMsPerTask, 3)} ms` : "",
      d ? `${fmt(d.startRss ?? d.idleRss)} / ${d.startRss === undefined ? "-" : fmt(d.idleRss)} / ${fmt(d.peakRss)} MB` : "",
      rt(d),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  lines.push(
    "",
    `¹ ${BROKER_NAMES[detail]}, with results; CPU: utime + stime of the worker's processes over the drain / N; RSS of the worker's processes 0.3 s after it was ready (start), after ${fmt((run.idleMs ?? 10000) / 1000)} s ready with nothing to do (idle), and the most during the drain (peak).`,
  );
  return lines;
}

function ratioLines(run) {
  const lines = [];
  for (const [kind, d] of Object.entries(run.drains)) {
    for (const [mode, list] of [
      ["results", d.ratios.results],
      ["ignore_result", d.ratios.ignoreResult],
    ]) {
      if (list.length) lines.push(`- ${BROKER_NAMES[kind]}, ${mode}: ${ratioList(list)}`);
    }
  }
  return lines;
}

function publishTable(run) {
  const rows = run.publish.rows.filter((r) => !r.baselineOf);
  const kinds = [...new Set(rows.map((r) => r.broker))];
  const labels = [...new Set(rows.map((r) => r.label))];
  const cell = (label, kind) => {
    const r = rows.find((x) => x.label === label && x.broker === kind);
    return !r ? "" : r.na ? "n/a" : `${rate(r.perSec)} (${fmt(r.cpuMsPerMsg, 3)} ms CPU)`;
  };
  return [
    `Publish: one Node client sends N = ${fmt(run.n)} \`tasks.add\`, nothing consuming (messages/s, client CPU per message; celeriac's client with its result backend):`,
    "",
    `| call | ${kinds.map((k) => BROKER_NAMES[k]).join(" | ")} |`,
    `|---|${kinds.map(() => "---:").join("|")}|`,
    ...labels.map((l) => `| ${l} | ${kinds.map((k) => cell(l, k)).join(" | ")} |`),
  ];
}

function depthLine(depth) {
  const parts = Object.entries(depth.brokers).map(([kind, b]) => {
    const [base, deep] = b.rows;
    const first = b.firstRatio ? ` (${b.firstRatio.toFixed(2)}x up to ${fmt(depth.base)} done)` : "";
    return `${BROKER_NAMES[kind]} ${rate(deep.tasksPerSec)} with ${fmt(depth.depth)} queued against ${rate(base.tasksPerSec)} with ${fmt(depth.base)} = ${b.ratio.toFixed(2)}x${first}, peak RSS ${fmt(deep.peakRss)} / ${fmt(base.peakRss)} MB`;
  });
  const v = depth.versions;
  const when = `${depth.date.slice(0, 10)}, celeriac ${v.celeriac}, Redis ${v.redis}, RabbitMQ ${v.rabbitmq}`;
  return `Queue depth (\`npm run bench:depth\` on ${when}; ${depth.worker}, results stored, clock from the ${fmt(depth.skip)}th task): ${parts.join("; ")} (target ≥ ${depth.target}x).`;
}

function section(run, depth) {
  const lines = [
    `<!-- generated by \`npm run bench:readme\` from bench/results/latest.json: run \`npm run bench && npm run bench:readme\` to renew it -->`,
    `Measured by \`npm run bench\` ${provenance(run)}; N = ${fmt(run.n)} \`${run.task}\`, results in Redis, tasks/s:`,
    "",
  ];
  if (Object.keys(run.drains).length) lines.push(...drainTable(run), "", ...ratioLines(run), "");
  if (run.publish) lines.push(...publishTable(run), "");
  if (depth) lines.push(depthLine(depth), "");
  return lines.join("\n");
}

function main() {
  const args = process.argv.slice(2);
  const run = readResults("latest");
  if (!run) throw new Error("no bench/results/latest.json: run `npm run bench` first");
  const partial = PARTIAL.filter((k) => run.settings[k] !== undefined);
  if (partial.length && !args.includes("--partial")) {
    throw new Error(`bench/results/latest.json is from a partial run (${partial.map((k) => `${k}=${run.settings[k]}`).join(", ")}): run \`npm run bench\` in full, or pass --partial`);
  }
  const text = section(run, readResults("depth"));
  if (args.includes("--print")) {
    console.log(text);
    return;
  }
  const readme = path.join(ROOT, "README.md");
  const old = fs.readFileSync(readme, "utf8");
  const a = old.indexOf(START);
  const b = old.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${START} ... ${END} section`);
  fs.writeFileSync(readme, `${old.slice(0, a + START.length)}\n${text}${old.slice(b)}`);
  console.log(`README.md: benchmark section rewritten from the run of ${run.date}`);
}

try {
  main();
} catch (e) {
  console.error(String(e instanceof Error ? e.message : e));
  process.exit(1);
}
