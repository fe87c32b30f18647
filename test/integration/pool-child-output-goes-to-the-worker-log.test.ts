/**
 * worker_redirect_stdouts (Celery's default True, level WARNING): what a task prints in a pool
 * child (console.log, console.error, process.stdout.write) is a line of the worker's log, one per
 * write, at worker_redirect_stdouts_level, named after the child as Celery names it
 * (`[...: WARNING/ForkPoolWorker-1] hello`; threads: MainProcess), with URL passwords masked.
 * Off, the child's console is left alone. Build first (children run dist/).
 */
import { captureLogger, perTestApp, startTsappWorker } from "../support/app";

const t = perTestApp();
const logger = captureLogger();
afterEach(() => {
  logger.lines.length = 0;
});
/** Lines with `text` but the task's own (received, succeeded: they show its result). */
const printed = (text: string) => logger.lines.filter((l) => l.includes(text) && !l.includes("] Task ts.print["));

test("prefork: what a task prints is logged at WARNING under the child's name, with the password masked", async () => {
  const { app } = await startTsappWorker(t, { pool: "prefork", concurrency: 1, logger });
  const text = "hello from redis://me:topsecret@cache.local:6379/1";
  expect(await (await app.sendTask("ts.print", [text])).get({ timeout: 10000 })).toBe(text);
  const masked = "hello from redis://me:**@cache.local:6379/1";
  const lines = printed(masked);
  expect(lines).toHaveLength(3);
  expect(lines[0]).toMatch(/^\[[\d-]+ [\d:,]+: WARNING\/ForkPoolWorker-1\] hello from redis:\/\/me:\*\*@cache.local:6379\/1$/);
  expect(lines[1]).toMatch(/WARNING\/ForkPoolWorker-1\] .* \(stderr\)$/);
  expect(lines[2]).toMatch(/WARNING\/ForkPoolWorker-1\] .* \(write\)$/);
  expect(logger.lines.join("\n")).not.toContain("topsecret");
});

test("workerRedirectStdoutsLevel sets the level of those lines", async () => {
  const { app } = await startTsappWorker(t, { pool: "prefork", concurrency: 1, logger }, { workerRedirectStdoutsLevel: "info" });
  await (await app.sendTask("ts.print", ["at info"])).get({ timeout: 10000 });
  expect(printed("at info")[0]).toMatch(/INFO\/ForkPoolWorker-1\] at info$/);
});

test("workerRedirectStdouts: false leaves the child's console alone: nothing printed reaches the log", async () => {
  const { app } = await startTsappWorker(t, { pool: "prefork", concurrency: 1, logger }, { workerRedirectStdouts: false });
  expect(await (await app.sendTask("ts.print", ["not redirected"])).get({ timeout: 10000 })).toBe("not redirected");
  expect(printed("not redirected")).toEqual([]);
});

test("threads: what a task prints is logged under MainProcess, as Celery's threads pool", async () => {
  const { app } = await startTsappWorker(t, { pool: "threads", concurrency: 1, logger });
  await (await app.sendTask("ts.print", ["in a thread"])).get({ timeout: 10000 });
  expect(printed("in a thread")[0]).toMatch(/WARNING\/MainProcess\] in a thread$/);
});
