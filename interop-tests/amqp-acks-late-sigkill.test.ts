/**
 * On RabbitMQ, a celeriac CLI worker killed with SIGKILL mid-task under acksLate loses nothing:
 * the broker requeues the unacked message as soon as the connection is gone (no visibility
 * timeout on AMQP) and another worker finishes it; Python reads the result (Redis backend).
 * Needs `npm run build` (spawns dist/cli/main.js with interop-tests/apps/tsapp.js).
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { amqpUrl, createVhost, deleteVhost } from "../test/support/amqp";
import { unique } from "../test/support/app";
import { pyClient, PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

const ROOT = resolve(__dirname, "..");
const BACKEND = testRedisUrl(0);
let vhost: string;

beforeAll(async () => {
  vhost = await createVhost("amqp-sigkill");
});
afterAll(async () => {
  await deleteVhost(vhost);
});

function startCliWorker(queue: string, name: string): { child: ChildProcess; output: () => string } {
  let out = "";
  const child = spawn(process.execPath, [resolve(ROOT, "dist/cli/main.js"), "worker", "-A", "interop-tests/apps/tsapp.js", "-c", "2", "-n", name], {
    cwd: ROOT,
    env: { ...process.env, TSAPP_BROKER: amqpUrl(vhost), TSAPP_BACKEND: BACKEND, TSAPP_QUEUE: queue, TSAPP_ACKS_LATE: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

test.each(PYTHONS)("SIGKILL mid-task under acksLate on RabbitMQ: another worker finishes it at once (Python $label reads it)", async (py) => {
  const queue = unique("amqp-kill");
  const env = { PYAPP_BROKER: amqpUrl(vhost), PYAPP_BACKEND: BACKEND, PYAPP_QUEUES: queue };
  const first = startCliWorker(queue, `victim-${py.label}@%h`);
  let second: ReturnType<typeof startCliWorker> | null = null;
  try {
    await waitFor(() => first.output().includes("ready."), 20000, "first worker ready");
    // the rescuer is already consuming: RabbitMQ hands it the message when the victim's connection dies
    second = startCliWorker(queue, `rescuer-${py.label}@%h`);
    await waitFor(() => second!.output().includes("ready."), 20000, "second worker ready");
    const sent = (await pyClient(py, ["send", "ts.sleep", "--args", JSON.stringify([2, "finished"]), "--options", JSON.stringify({ queue })], env)) as { id: string };
    const holder = await Promise.race([
      waitFor(() => first.output().includes(`[${sent.id}] received`), 15000, "task received").then(() => first),
      waitFor(() => second!.output().includes(`[${sent.id}] received`), 15000, "task received").then(() => second!),
    ]);
    const other = holder === first ? second : first;
    const killedAt = Date.now();
    holder.child.kill("SIGKILL");
    const out = (await pyClient(py, ["get", sent.id, "--timeout", "30"], env)) as { state: string; result: unknown };
    expect(out).toMatchObject({ state: "SUCCESS", result: "finished" });
    expect(other.output()).toContain(`[${sent.id}] succeeded`);
    // redelivered on connection loss, not after some timeout: 2 s task + startup slack
    expect(Date.now() - killedAt).toBeLessThan(10000);
  } finally {
    first.child.kill("SIGKILL");
    second?.child.kill("SIGKILL");
  }
});
