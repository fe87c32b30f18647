// worker.ts: the Node half of the mixed-canvas example, its tasks (node.*).
// Build: npx tsc; worker: npx celeriac worker -A dist/worker.js -Q node -n node@%h -l info
import { Celery } from "celeriac";

// CELERY_BROKER_URL and CELERY_RESULT_BACKEND, when set, win over these (as in Celery).
export const app = new Celery("pipeline", { broker: "redis://127.0.0.1:6379/0", backend: "redis://127.0.0.1:6379/1" });
// The settings the Python side reads too (relative to the working directory): serializers, routes.
app.configFromObject("./celeryconfig.json");

export const transform = app.task("node.transform", (rows: number[]) => rows.map((x) => x * 10));
export const cube = app.task("node.cube", (x: number) => x ** 3);
export const total = app.task("node.total", (values: number[]) => values.reduce((sum, v) => sum + v, 0));
