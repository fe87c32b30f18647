// The Node side of the Django example: `celeriac worker -A node/tasks.js --config celeriac.json -n node@%h`
// (celeriac.json written by `python manage.py celeriac_config celeriac.json`; its task_queues: node).
// Inside the celeriac repository, "celeriac" is the repository itself (its package.json's exports; build it first).
const { Celery } = require("celeriac");

// Every setting comes from --config (broker, result backend, routes, serializers, timezone, ...).
const app = new Celery("proj");

// Plain handlers: Django's keyword calls (resize.delay(path=..., width=...)) land on their parameters.
app.task("node.resize", (path, width, height = 480) => ({ path, width, height }));
app.task("node.tag", (value, tag = "node") => `${String(tag)}:${JSON.stringify(value)}`);
app.task("node.double", (x) => x * 2);
app.task("node.fail", (message) => {
  throw new RangeError(message);
});
// A JS TypeError is stored as Python's builtins.TypeError: `except TypeError` catches it in Django.
app.task("node.length", (text) => {
  if (typeof text !== "string") throw new TypeError(`text must be a string, not ${typeof text}`);
  return text.length;
});

module.exports = { app };
