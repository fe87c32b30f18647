// The soak's worker app: `celeriac worker -A bench/soak/app.js`. Two tasks, one per queue:
// soak.late (acksLate) and soak.early (default acks: acked on receipt). Each run records itself
// atomically in the ledger Redis (SOAK_LEDGER, never restarted), after SOAK_TASK_MS of async work.
// Env: SOAK_BROKER, SOAK_BACKEND, SOAK_LEDGER, SOAK_KEY_PREFIX, SOAK_INSTANCE, SOAK_VISIBILITY (s).
const Redis = require("ioredis");
const { Celery } = require("../../dist");
const { TASKS, keys } = require("./keys");

const k = keys(process.env.SOAK_KEY_PREFIX);
const instance = process.env.SOAK_INSTANCE;
const workMs = Number(process.env.SOAK_TASK_MS || 50);
const ledger = new Redis(process.env.SOAK_LEDGER);

const app = new Celery("soak", {
  broker: process.env.SOAK_BROKER,
  backend: process.env.SOAK_BACKEND,
  resultExpires: 3600,
  taskRoutes: Object.fromEntries(TASKS.map((t) => [t.name, { queue: t.queue }])),
  brokerTransportOptions: { visibilityTimeout: Number(process.env.SOAK_VISIBILITY || 10), unackedRestoreInterval: 1 },
});

for (const t of TASKS) {
  app.task(
    t.name,
    async (ctx) => {
      await new Promise((r) => setTimeout(r, workMs));
      const id = ctx.request.id;
      await ledger
        .multi()
        .hincrby(k.perTask(t.name, "runs"), id, 1)
        .sadd(k.perTask(t.name, "done"), id)
        .incr(k.count)
        .hincrby(k.byInstance, instance, 1)
        .exec();
      return id;
    },
    { bind: true, acksLate: t.acksLate },
  );
}

module.exports = { app };
