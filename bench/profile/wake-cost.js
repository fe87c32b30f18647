// What the FETCH queued behind a BLMOVE adds to a wake, part by part: a connection blocks in
// `BLMOVE q q RIGHT RIGHT` with a script queued behind it (as the Redis consumer waits), another
// LPUSHes one Celery-sized envelope 1 ms later, and the time from that LPUSH to the script's reply
// is measured. Variants, interleaved (each round runs every variant once):
//   none      no script: the BLMOVE's own reply
//   trivial   `return 1`: a script call's fixed cost
//   fetch     the transport's FETCH (bucket-major over the queue's 4 priority buckets)
//   onebucket FETCH over the first bucket only
//   nocjson   FETCH with the tag found by string.match instead of cjson (a probe: not correct)
//   nowrite   FETCH without its ZADD and HSET (a probe: not correct)
// Prints p25/p50/p75 µs per variant. Needs a built dist; Redis on BENCH_REDIS_PORT (default 16391,
// started by scripts/private-redis.sh), database 5 (its keys q*, unacked* are deleted).
//   WAKE_N=2000 WAKE_VARIANTS=none,trivial,fetch,onebucket,nocjson,nowrite node bench/profile/wake-cost.js
const path = require("node:path");
const Redis = require("ioredis");
const { FETCH_LUA } = require(path.join(__dirname, "../../dist/transport/redis/scripts"));
const { pyJsonDumps } = require(path.join(__dirname, "../../dist/protocol/serializers/json"));

const PORT = Number(process.env.BENCH_REDIS_PORT || 16391);
const N = Number(process.env.WAKE_N || 2000);
const VARIANTS = {
  trivial: "return 1",
  fetch: FETCH_LUA,
  onebucket: FETCH_LUA.replace("for b = 0, nb - 1 do", "for b = 0, 0 do"),
  nocjson: FETCH_LUA.replace("local tag, ex, rk = envelope_ids(msg)", "local tag, ex, rk = string.match(msg, '\"delivery_tag\": \"([^\"]*)\"'), '', 'q'"),
  nowrite: FETCH_LUA.replace(/for i = 1, #index, 1000 do[^\n]*\n/, "").replace(/for i = 1, #values, 1000 do[^\n]*\n/, ""),
};
for (const [name, lua] of Object.entries(VARIANTS)) if (name !== "fetch" && name !== "trivial" && lua === FETCH_LUA) throw new Error(`variant ${name} no longer applies to FETCH_LUA`);

/** An envelope as Celery 5's client writes it (bench/py/enqueue.py), with its own id and tag. */
function envelope(i) {
  const id = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
  const body = Buffer.from(`[[${i}, ${i}], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]`).toString("base64");
  const headers = { lang: "py", task: "tasks.add", id, shadow: null, eta: null, expires: null, group: null, group_index: null, retries: 0, timelimit: [null, null], root_id: id, parent_id: null, argsrepr: `(${i}, ${i})`, kwargsrepr: "{}", origin: "gen1@host", ignore_result: false };
  const properties = { correlation_id: id, reply_to: "4c1a7a3e-0000-4000-8000-000000000000", delivery_mode: 2, delivery_info: { exchange: "", routing_key: "q" }, priority: 0, body_encoding: "base64", delivery_tag: `tag-${id}` };
  return pyJsonDumps({ body, "content-encoding": "utf-8", "content-type": "application/json", headers, properties });
}

const now = () => Number(process.hrtime.bigint()) / 1e3;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, f) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * f)].toFixed(0);

async function main() {
  const url = `redis://127.0.0.1:${PORT}/5`;
  const [pub, cmd, blk] = [new Redis(url), new Redis(url), new Redis(url)];
  await blk.ping();
  for (const [name, lua] of Object.entries(VARIANTS)) blk.defineCommand(`wake_${name}`, { lua });
  const keys = ["unacked", "unacked_index", "bad", "q", "q\x06\x163", "q\x06\x166", "q\x06\x169"];
  const variants = (process.env.WAKE_VARIANTS || "none,trivial,fetch,onebucket,nocjson,nowrite").split(",");
  const times = Object.fromEntries(variants.map((v) => [v, []]));
  await cmd.del(...keys);
  for (let i = 0; i < N; i++) {
    for (const v of variants) {
      let replied = 0;
      blk.stream.cork();
      const moved = blk.blmove("q", "q", "RIGHT", "RIGHT", 5);
      const last = v === "none" ? moved : blk[`wake_${v}`](keys.length, ...keys, 63, String(Date.now() / 1000), 1, "q");
      const done = last.then(() => (replied = now()));
      process.nextTick(() => blk.stream.uncork());
      await sleep(1);
      const sent = now();
      await pub.lpush("q", envelope(i));
      await Promise.all([moved, done]);
      await cmd.del(...keys);
      if (i >= 100) times[v].push(replied - sent);
    }
  }
  for (const v of variants) console.log(`${v.padEnd(10)} p25 ${pct(times[v], 0.25)}  p50 ${pct(times[v], 0.5)}  p75 ${pct(times[v], 0.75)} µs`);
  for (const c of [pub, cmd, blk]) c.disconnect();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
