// Preload for a Node worker (celeriac or celery-node: `node --require bench/profile/result-write-marks.js ...`):
// for each lone task, when the socket data carrying its envelope arrived and when the socket write
// carrying its result (a `celery-task-meta-` key) was made, in µs of CLOCK_MONOTONIC (the clock of
// Python's time.perf_counter, so other processes' marks line up), and when each blocking pop
// (BLMOVE, BRPOP) was written. SIGUSR2 forgets what was marked; SIGUSR1 writes
// {"tasks": [[data, write], ...], "pops": [...]} to MARKS_OUT. Used by python-get-race.js.
const fs = require("node:fs");
const net = require("node:net");

const now = () => Number(process.hrtime.bigint()) / 1e3;
let since = 0;
let tasks = [];
let pops = [];

const emit = net.Socket.prototype.emit; // eslint-disable-line @typescript-eslint/unbound-method -- called with apply on the socket
net.Socket.prototype.emit = function (event, data) {
  if (event === "data" && !since && Buffer.isBuffer(data) && data.includes("content-encoding")) since = now();
  return emit.apply(this, arguments);
};
const text = (d) => (typeof d === "string" ? d : Buffer.isBuffer(d) ? d.toString("latin1") : Array.isArray(d) ? d.map((x) => text(x.chunk ?? x)).join("") : String(d));
const writeGeneric = net.Socket.prototype._writeGeneric;
net.Socket.prototype._writeGeneric = function (writev, data) {
  const t = text(data);
  if (since && t.includes("celery-task-meta")) {
    tasks.push([since, now()]);
    since = 0;
  } else if (/blmove|brpop/i.test(t)) pops.push(now());
  return writeGeneric.apply(this, arguments);
};
process.on("SIGUSR2", () => {
  tasks = [];
  pops = [];
  since = 0;
});
process.on("SIGUSR1", () => fs.writeFileSync(process.env.MARKS_OUT, JSON.stringify({ tasks, pops })));
