/**
 * A celeriac worker killed with SIGKILL mid-task under acksLate loses nothing: the message comes
 * back after the visibility timeout and another worker finishes it; Python reads the result.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { randomUUID } from "node:crypto";
import { pyClient, PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

const ROOT = resolve(__dirname, "..");
const BROKER = testRedisUrl(14);
const BACKEND = testRedisUrl(15);

function startCliWorker(queue: string, name: string): { child: ChildProcess; output: () => string } {
  let out = "";
  const child = spawn(process.execPath, [resolve(ROOT, "dist/cli/main.js"), "worker", "-A", "interop-tests/apps/tsapp.js", "-c", "2", "-n", name], {
    cwd: ROOT,
    env: { ...process.env, TSAPP_BROKER: BROKER, TSAPP_BACKEND: BACKEND, TSAPP_QUEUE: queue, TSAPP_VISIBILITY: "2", TSAPP_ACKS_LATE: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

test("SIGKILL mid-task under acksLate: another worker finishes it after the visibility timeout", async () => {
  const py = PYTHONS[0];
  const queue = `kill-${randomUUID().slice(0, 8)}`;
  const env = { PYAPP_BROKER: BROKER, PYAPP_BACKEND: BACKEND, PYAPP_QUEUES: queue };
  const first = startCliWorker(queue, "victim@%h");
  let second: ReturnType<typeof startCliWorker> | null = null;
  try {
    await waitFor(() => first.output().includes("ready."), 15000, "first worker ready");
    const sent = (await pyClient(py, ["send", "ts.sleep", "--args", JSON.stringify([1.5, "finished"]), "--options", JSON.stringify({ queue })], env)) as { id: string };
    await waitFor(() => first.output().includes(`[${sent.id}] received`), 15000, "task received by the first worker");
    first.child.kill("SIGKILL");
    second = startCliWorker(queue, "rescuer@%h");
    const out = (await pyClient(py, ["get", sent.id, "--timeout", "30"], env)) as { state: string; result: unknown };
    expect(out).toMatchObject({ state: "SUCCESS", result: "finished" });
    expect(second.output()).toContain(`[${sent.id}] succeeded`);
  } finally {
    first.child.kill("SIGKILL");
    second?.child.kill("SIGTERM");
  }
});
