// Example tasks module: `npx celeriac worker -A examples/tasks.js` (after `npm run build`).
// In your own project: `const { Celery } = require("celeriac");`
const { Celery } = require("..");

const app = new Celery("proj", {
  broker: process.env.CELERY_BROKER_URL || "redis://127.0.0.1:6379/0",
  backend: process.env.CELERY_RESULT_BACKEND || "redis://127.0.0.1:6379/1",
});

app.task("tasks.add", /** @param {number} x @param {number} y */ (x, y) => x + y);
app.task("tasks.mul", (x, y) => x * y, { params: ["x", "y"] });
app.task("tasks.info", (ctx, a) => ({ id: ctx.request.id, retries: ctx.request.retries, a }), { bind: true });
app.task("tasks.fail", (message) => {
  throw new RangeError(message);
});

module.exports = { app };
