// A user's tasks module, tested without Redis in tasks.test.ts (run by celeriac's own test suite).
// In your project: `import { Celery } from "celeriac";`
import { Celery } from "../../src";
import type { BoundTaskContext } from "../../src";

export const app = new Celery("shop", {
  broker: process.env.CELERY_BROKER_URL ?? "redis://127.0.0.1:6379/0",
  backend: process.env.CELERY_RESULT_BACKEND ?? "redis://127.0.0.1:6379/1",
});

/** A plain task. */
export const add = app.task("shop.add", (x: number, y: number) => x + y, { params: ["x", "y"] });

/** A task that retries while a (pretend) payment service is down. */
export const charge = app.task(
  "shop.charge",
  (ctx: BoundTaskContext, orderId: number, serviceUp: boolean) => {
    if (!serviceUp) ctx.retry({ countdown: 0, args: [orderId, true] }); // up again next time
    return { orderId, charged: true, attempts: ctx.request.retries + 1 };
  },
  { bind: true, maxRetries: 3 },
);

/** Application code under test: sends a task and waits for its result. */
export async function totalOf(prices: number[]): Promise<number> {
  let total = 0;
  for (const p of prices) total = await (await add.delay(total, p)).get({ timeout: 5000 });
  return total;
}
