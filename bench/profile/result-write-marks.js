// Preload for a Node worker (celeriac or celery-node: `node --require bench/profile/result-write-marks.js ...`):
// for each lone task, when the socket data carrying its envelope arrived and when the socket write
// carrying its result (a `celery-task-meta-` key) was made, in µs of CLOCK_MONOTONIC (the clock of
// Python's time.perf_counter, so other processes' marks line up), and when each blocking pop
// (BLMOVE, BRPOP) was written. SIGUSR2 forgets what was marked; SIGUSR1 writes
// {"tasks": [[data, write], ...], "pops": [...]} to MARKS_OUT. Used by python-get-race.js.
const fs = require("node:fs");
const { tapData, tapWrites, text } = require("../lib/socket-taps");

const now = () => Number(process.hrtime.bigint()) / 1e3;
let since = 0;
let tasks = [];
let pops = [];

tapData((data) => {
  if (!since && data.includes("content-encoding")) since = now();
});
tapWrites((data) => {
  const t = text(data);
  if (since && t.includes("celery-task-meta")) {
    tasks.push([since, now()]);
    since = 0;
  } else if (/blmove|brpop/i.test(t)) pops.push(now());
});
process.on("SIGUSR2", () => {
  tasks = [];
  pops = [];
  since = 0;
});
process.on("SIGUSR1", () => fs.writeFileSync(process.env.MARKS_OUT, JSON.stringify({ tasks, pops })));
