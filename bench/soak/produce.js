// Node producer: SOAK_COUNT tasks at SOAK_RATE/s through celeriac's client, alternating soak.late
// and soak.early. An id is added to the ledger's `sent` set only once the publish resolved; a publish
// that rejects (broker down) puts its id in `failed` and the next attempt uses a new id.
// Prints {"sent", "failed"} as its last line. Env as produce.py: SOAK_BROKER, SOAK_LEDGER, SOAK_KEY_PREFIX.
const { randomUUID } = require("node:crypto");
const Redis = require("ioredis");
const { Celery } = require("../../dist");
const { TASKS, keys } = require("./keys");
const { SentLog } = require("./sent-log");

async function main() {
  const count = Number(process.env.SOAK_COUNT);
  const rate = Number(process.env.SOAK_RATE);
  const app = new Celery("soak-producer", { broker: process.env.SOAK_BROKER });
  const ledger = new Redis(process.env.SOAK_LEDGER);
  const log = new SentLog(ledger, keys(process.env.SOAK_KEY_PREFIX), "node");
  const t0 = Date.now();
  let sent = 0;
  let failed = 0;
  while (sent < count) {
    const ahead = t0 + (sent * 1000) / rate - Date.now();
    if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
    const task = TASKS[sent % TASKS.length];
    const taskId = randomUUID();
    try {
      await app.sendTask(task.name, [], {}, { taskId, queue: task.queue });
      log.add(task.name, "sent", taskId);
      sent++;
    } catch (err) {
      log.add(task.name, "failed", taskId);
      failed++;
      if (failed % 50 === 1) console.error(`publish failed (${failed} so far): ${err.message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await log.close();
  await app.close();
  console.log(JSON.stringify({ sent, failed }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
