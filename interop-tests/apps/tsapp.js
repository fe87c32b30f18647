// The celeriac side of the interop tests, as a module the CLI can load:
//   node dist/cli/main.js worker -A interop-tests/apps/tsapp.js
// Configured by TSAPP_BROKER, TSAPP_BACKEND, TSAPP_QUEUE, TSAPP_VISIBILITY (s), TSAPP_ACKS_LATE.
const { Celery } = require("../../dist");

const app = new Celery("tsapp", {
  broker: process.env.TSAPP_BROKER,
  backend: process.env.TSAPP_BACKEND,
  taskDefaultQueue: process.env.TSAPP_QUEUE || "celery",
  taskAcksLate: process.env.TSAPP_ACKS_LATE === "1",
  acceptContent: ["json", "msgpack", "yaml"],
  brokerTransportOptions: process.env.TSAPP_VISIBILITY
    ? { visibilityTimeout: Number(process.env.TSAPP_VISIBILITY), unackedRestoreInterval: 1 }
    : {},
});

app.task("ts.add", (x, y) => x + y);
app.task("ts.echo", (...args) => args);
app.task("ts.sleep", async (seconds, tag) => {
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return tag;
});

module.exports = { app };
