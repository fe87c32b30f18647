// What bench/run.js prints: one line per drain, the ratios between rows, and the issue 15 targets.
const { IDLE_MS } = require("./config");

/** A number for people: grouped thousands, `d` decimals; "-" for none. */
const fmt = (x, d = 0) =>
  x === null || x === undefined || Number.isNaN(x) ? "-" : Number(x).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });

const rtText = (name, rt) => (rt ? `${name} ${rt.failed ? "failed" : `${fmt(rt.p50_ms, 2)}/${fmt(rt.p99_ms, 2)}`}` : null);

/** One drain row as a line; `width` pads the label. */
function drainLine(row, width) {
  const rt = row.rt ? [rtText("python client", row.rt.py), rtText("celeriac client", row.rt.ts), rtText("BullMQ client", row.rt.bullmq)].filter(Boolean) : [];
  return (
    `${row.label.padEnd(width)} ${row.ignoreResult ? "ignore_result" : "with results "} ${fmt(row.tasksPerSec).padStart(7)} tasks/s` +
    `  CPU ${fmt(row.cpuMsPerTask, 3)} ms/task (servers ${fmt(row.serverCpuMsPerTask, 3)})` +
    `  RSS start ${fmt(row.startRss)}${row.idleRss === null || row.idleRss === undefined ? "" : ` idle ${fmt(row.idleRss)}`} peak ${fmt(row.peakRss)} MB` +
    (rt.length ? `  round trip p50/p99 ms: ${rt.join(", ")}` : "")
  );
}

/** The celeriac row the ratios and targets speak of: the first one that is not a baseline. */
const celeriacRow = (rows) => rows.find((r) => r.label.startsWith("celeriac") && !r.baselineOf);
const byLabel = (rows, label) => rows.find((r) => r.label === label);
const byPrefix = (rows, prefix) => rows.find((r) => r.label.startsWith(prefix) && !r.baselineOf);

/** [{ of, to, value }] throughput ratios among one broker's rows of one kind (results or ignore_result). */
function ratios(rows) {
  const py = rows.filter((r) => r.label.startsWith("python")).sort((a, b) => b.tasksPerSec - a.tasksPerSec)[0];
  const ts = celeriacRow(rows);
  const pairs = [
    [ts, py],
    [ts, byLabel(rows, "celery-node")],
    [ts, byPrefix(rows, "BullMQ")],
    [byLabel(rows, "celeriac -P prefork -c 2"), byLabel(rows, "celeriac -c 2")],
    [byLabel(rows, "celeriac 2 procs eventloop -c 1"), byLabel(rows, "celeriac -P prefork -c 2")],
    ...rows.filter((r) => r.baselineOf).map((r) => [byLabel(rows, r.baselineOf), r]),
  ];
  return pairs.filter(([a, b]) => a && b).map(([a, b]) => ({ of: a.label, to: b.label, value: a.tasksPerSec / b.tasksPerSec }));
}

const ratioText = (r) => `${r.of} / ${r.to} = ${r.value.toFixed(2)}x`;

/**
 * The goals of issue 15 measured in this run, { goal, value, target, met }: celeriac's rate against
 * BullMQ (Redis) and celery-node (RabbitMQ) with results, round trips against celery-node's, CPU per
 * task and idle RSS on Redis. `rows` by broker: { redis: [...], amqp: [...] }.
 */
function targets(rows) {
  const out = [];
  const add = (goal, value, target, met, unit = "") => value !== undefined && out.push({ goal, value, target, met, unit });
  const results = (kind) => (rows[kind] || []).filter((r) => !r.ignoreResult);
  for (const [kind, peer] of [["redis", "BullMQ"], ["amqp", "celery-node"]]) {
    const ts = celeriacRow(results(kind));
    const other = byPrefix(results(kind), peer);
    if (ts && other) add(`${kind} with results: ${ts.label} / ${other.label}`, ts.tasksPerSec / other.tasksPerSec, "≥ 1.00x", ts.tasksPerSec >= other.tasksPerSec, "x");
  }
  for (const kind of ["redis", "amqp"]) {
    const ts = celeriacRow(results(kind));
    const cn = byLabel(results(kind), "celery-node");
    for (const client of ["py", "ts"]) {
      const a = ts?.rt?.[client]?.p50_ms;
      const b = cn?.rt?.[client]?.p50_ms;
      const name = client === "py" ? "python" : "celeriac";
      if (a !== undefined && b !== undefined) add(`${kind} round trip p50, ${name} client → ${ts.label} (celery-node ${fmt(b, 2)} ms)`, a, "≤ celery-node", a <= b, " ms");
    }
  }
  const ts = celeriacRow(results("redis"));
  if (ts) {
    add(`redis with results: ${ts.label} worker CPU per task`, ts.cpuMsPerTask, "≤ 0.05 ms", ts.cpuMsPerTask <= 0.05, " ms");
    if (typeof ts.idleRss === "number") add(`redis: ${ts.label} idle RSS (ready, ${fmt(IDLE_MS / 1000)} s without work)`, ts.idleRss, "≤ 60 MB", ts.idleRss <= 60, " MB");
  }
  return out;
}

const targetText = (t) => `${t.met ? "met    " : "not yet"}  ${t.goal}: ${fmt(t.value, t.unit === " MB" ? 0 : t.unit === " ms" ? 3 : 2)}${t.unit} (target ${t.target})`;

module.exports = { fmt, drainLine, ratios, ratioText, targets, targetText };
