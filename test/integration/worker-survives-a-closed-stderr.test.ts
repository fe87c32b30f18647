/**
 * A worker whose stderr reader went away (the pipe to a log collector closed: EPIPE on every
 * write) keeps running tasks and stops on SIGTERM: its log lines are dropped, and a failed write
 * never becomes an uncaught exception that the crash guard logs to stderr again, in a loop.
 */
import { readFileSync } from "node:fs";
import { Celery } from "../../src";
import { startCliWorker } from "../support/cli-worker";
import { testRedisUrl } from "../support/redis";
import { waitFor } from "../support/wait";

test("with its stderr pipe closed, the worker runs tasks, stays small and stops on SIGTERM", async () => {
  const url = testRedisUrl(8);
  const w = startCliWorker(url, url, "closed-stderr", ["-P", "eventloop"]);
  const client = new Celery("client", { broker: url, backend: url });
  try {
    await waitFor(() => w.output().includes("ready."), 20000, "worker ready");
    w.child.stderr?.destroy();
    for (let i = 0; i < 20; i++) {
      const r = await client.sendTask("ts.add", [i, 1], {}, { queue: w.queue });
      expect(await r.get({ timeout: 10000 })).toBe(i + 1);
    }
    expect(w.child.exitCode).toBeNull();
    const status = readFileSync(`/proc/${w.child.pid}/status`, "utf8");
    expect(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024).toBeLessThan(300);
    w.child.kill("SIGTERM");
    expect(await Promise.race([w.exited, new Promise((r) => setTimeout(() => r("still running"), 15000))])).toBe(0);
  } finally {
    await client.close();
    if (w.child.exitCode === null) w.child.kill("SIGKILL");
  }
});
