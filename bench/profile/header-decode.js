// Micro-benchmark: one Celery header table (as py-amqp sends it) decoded the way a delivery is:
// amqplib's field-table decoder (celeriac's, installed into amqplib) and then RawMessage headers.
//
//   node bench/profile/header-decode.js [BASELINE_DIST]
//
// The table is Celery 5.2's tasks.add headers (16 keys), built here with the tags py-amqp uses.
const path = require("node:path");

function entry(key, tag, payload) {
  return Buffer.concat([Buffer.from([key.length]), Buffer.from(key), Buffer.from(tag), payload]);
}
const S = (s) => {
  const b = Buffer.from(s);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
};
const I = (n) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const V = Buffer.alloc(0);
const id = "351108c8-3843-4a53-85f6-0d1474fe7044";
const TABLE = Buffer.concat([
  entry("lang", "S", S("py")),
  entry("task", "S", S("tasks.add")),
  entry("id", "S", S(id)),
  entry("shadow", "V", V),
  entry("eta", "V", V),
  entry("expires", "V", V),
  entry("group", "V", V),
  entry("group_index", "V", V),
  entry("retries", "I", I(0)),
  entry("timelimit", "A", Buffer.concat([I(2), Buffer.from("VV")])),
  entry("root_id", "S", S(id)),
  entry("parent_id", "V", V),
  entry("argsrepr", "S", S("(0, 0)")),
  entry("kwargsrepr", "S", S("{}")),
  entry("origin", "S", S("gen18258@vm")),
  entry("ignore_result", "t", Buffer.from([0])),
]);

function run(dist, label) {
  const { decodeFieldTableBytes } = require(path.join(dist, "transport/amqp/table-decoder"));
  const { rawMessageFrom } = require(path.join(dist, "transport/amqp/message"));
  const td = require(path.join(dist, "transport/amqp/table-decoder"));
  const installed = td.installTableDecoder(); // amqplib is not loaded here: ours is put in place
  const props = { contentType: "application/json", contentEncoding: "utf-8", deliveryMode: 2, priority: 0, correlationId: id, replyTo: "45e95341-49b1-37ed-8c4e-57fc86b80756" };
  const content = Buffer.from("[[0, 0], {}, {}]");
  const once = () => rawMessageFrom({ content, properties: { ...props, headers: decodeFieldTableBytes(TABLE) } });
  for (let i = 0; i < 200000; i++) once();
  const n = 1000000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) once();
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${label.padEnd(10)} ${ns.toFixed(0)} ns per header table + RawMessage (decoder installed: ${installed})`);
  return once();
}

const base = process.argv[2];
const mine = run(path.join(__dirname, "../../dist"), "this");
if (base) {
  for (const k of Object.keys(require.cache)) if (k.includes("/transport/amqp/")) delete require.cache[k];
  const theirs = run(path.resolve(base), "baseline");
  if (JSON.stringify(mine) !== JSON.stringify(theirs)) throw new Error(`different output:\n${JSON.stringify(mine)}\n${JSON.stringify(theirs)}`);
}
