import { hostname } from "node:os";
import { Celery } from "../../src";

test("a worker without a node name is celeriac@<host>, never Celery's celery@<host> (a Python worker's)", () => {
  const app = new Celery("t", { broker: "redis://127.0.0.1:1/0" });
  expect(app.worker().hostname).toBe(`celeriac@${hostname()}`);
  expect(app.worker({ hostname: "node@box" }).hostname).toBe("node@box");
});
