// One row of the publish benchmark (bench/lib/publish.js): `node bench/publish-client.js <variant> N`
// sends N tasks.add (x = y = i) from this process, after one warm-up send that opens the connections,
// and prints {"variant", "n", "seconds", "per_sec", "cpu_ms_per_msg"} (client CPU, utime + stime), or
// {"variant", "na"} when the client has no such call. Nothing consumes: the caller counts the queue.
//   celeriac:loop   await app.sendTask(...) one after the other
//   celeriac:all    N app.sendTask(...) at once, then await them all
//   celeriac:batch  the batched form, one call for N (celeriacBatch below)
//   bullmq:loop     await queue.add(...) one after the other (queue "bench")
//   bullmq:all      N queue.add(...) at once, then await them all
//   bullmq:bulk     queue.addBulk(N jobs)
// BENCH_BROKER / BENCH_BACKEND: the client's broker and result backend (celeriac's client listens for
// each result, as Celery's does); BENCH_CELERIAC_DIST: the built celeriac to load (baseline rows).
const path = require("node:path");

const [variant, count] = process.argv.slice(2);
const n = Number(count);
const task = (i) => ["tasks.add", [i, i]];

/**
 * The batched publish: one call for many messages, `app.sendTasks([...])` (issue 15), n/a while
 * celeriac's client has none. Its argument's shape is the client's to define; this is the one place
 * to adjust when it lands.
 */
async function celeriacBatch(app, items) {
  if (typeof app.sendTasks !== "function") return "app.sendTasks is absent";
  await app.sendTasks(items.map(([name, args]) => ({ name, args })));
  return null;
}

const celeriac = {
  open() {
    const { Celery } = require(process.env.BENCH_CELERIAC_DIST || path.join(__dirname, "../dist"));
    return new Celery("bench-publish", { broker: process.env.BENCH_BROKER, backend: process.env.BENCH_BACKEND });
  },
  warmUp: (app) => app.sendTask(...task(-1)),
  async loop(app) {
    for (let i = 0; i < n; i++) await app.sendTask(...task(i));
  },
  all: (app) => Promise.all(Array.from({ length: n }, (_, i) => app.sendTask(...task(i)))),
  batch: (app) => celeriacBatch(app, Array.from({ length: n }, (_, i) => task(i))),
  close: (app) => app.close(),
};

const bullmq = {
  open() {
    const { Queue } = require("bullmq");
    const { connectionOf, QUEUE } = require("./lib/bullmq");
    return new Queue(QUEUE, { connection: connectionOf(process.env.BENCH_BROKER) });
  },
  warmUp: (queue) => queue.add("add", { x: -1, y: -1 }),
  async loop(queue) {
    for (let i = 0; i < n; i++) await queue.add("add", { x: i, y: i });
  },
  all: (queue) => Promise.all(Array.from({ length: n }, (_, i) => queue.add("add", { x: i, y: i }))),
  bulk: (queue) => queue.addBulk(Array.from({ length: n }, (_, i) => ({ name: "add", data: { x: i, y: i } }))),
  close: (queue) => queue.close(),
};

async function main() {
  const [client, mode] = variant.split(":");
  const c = { celeriac, bullmq }[client];
  if (!c || !c[mode]) throw new Error(`unknown variant ${variant}`);
  const handle = c.open();
  try {
    await c.warmUp(handle);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const na = await c[mode](handle);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    if (typeof na === "string") console.log(JSON.stringify({ variant, na }));
    else console.log(JSON.stringify({ variant, n, seconds, per_sec: n / seconds, cpu_ms_per_msg: (cpu.user + cpu.system) / 1000 / n }));
  } finally {
    await c.close(handle);
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
