// Preload for a worker (`node --require bench/profile/lone-task-marks.js <dist>/cli/main.js worker ...`):
// for each lone task, the µs from the socket data that carried its envelope to the entry of some
// functions of the worker's dist and to the socket write carrying its result (`store write`).
// Exported functions also mark their return (`name returned`). Every 2 s it prints to stderr one line `MARKS name@median(count) ...`, earliest first.
// LONE_DIST=<dist> names the dist the worker runs (its modules are wrapped, not changed on disk).
// The wrapping costs a few µs per mark: compare dists with the same preload, read the gaps.
const { tapData, tapWrites, text } = require("../lib/socket-taps");
const path = require("node:path");

const DIST = path.resolve(process.env.LONE_DIST || path.join(__dirname, "../../dist"));
const now = () => Number(process.hrtime.bigint()) / 1e3;
const marks = new Map();
let since = 0; // when the envelope's data arrived; 0 between tasks

function mark(name) {
  if (!since) return;
  const list = marks.get(name) ?? [];
  list.push(now() - since);
  marks.set(name, list);
}

tapData((data) => {
  if (!since && data.includes("content-encoding")) since = now();
});
tapWrites((data) => {
  if (since && text(data).includes("celery-task-meta")) {
    mark("store write");
    since = 0;
  }
});

function wrapExport(file, fn) {
  const m = require(path.join(DIST, file));
  const orig = m[fn];
  const wrapped = function () {
    mark(fn);
    const out = orig.apply(this, arguments);
    mark(`${fn} returned`);
    return out;
  };
  Object.defineProperty(m, fn, { value: wrapped, enumerable: true, configurable: true, writable: true });
}
function wrapMethod(file, cls, fn) {
  const C = require(path.join(DIST, file))[cls];
  const orig = C.prototype[fn];
  C.prototype[fn] = function () { mark(`${cls}.${fn}`); return orig.apply(this, arguments); };
}
wrapExport("transport/redis/envelope.js", "decodeEnvelope");
wrapExport("worker/strategy.js", "classify");
wrapExport("protocol/decode.js", "decodeTask");
wrapMethod("worker/consumer.js", "Consumer", "onDelivery");
wrapMethod("worker/consumer.js", "Consumer", "execute");
wrapMethod("worker/rate-buckets.js", "RateBuckets", "admit");
wrapMethod("worker/request.js", "Request", "settle");
wrapMethod("worker/tracer.js", "Tracer", "run");
wrapMethod("worker/tracer.js", "Tracer", "store");
wrapMethod("backend/redis/index.js", "RedisBackend", "store");
wrapMethod("transport/tick-batch.js", "TickBatch", "flush");
{
  const Redis = require(require.resolve("ioredis", { paths: [DIST] }));
  const send = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function (command) {
    mark(`sendCommand ${command.name}`);
    return send.apply(this, arguments);
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
setInterval(() => {
  const rows = [...marks].map(([name, xs]) => [name, median(xs), xs.length]).sort((a, b) => a[1] - b[1]);
  if (rows.length) console.error("MARKS " + rows.map(([name, m, n]) => `${name.replace(/ /g, "_")}@${m.toFixed(0)}(${n})`).join(" "));
}, 2000).unref();
