/**
 * Zero tasks lost when a celeriac worker dies hard (SIGKILL) while it holds messages: a running
 * acksLate task, an ETA task it keeps unacked, and during a warm shutdown. Another worker finishes
 * all of them once the (short) visibility timeout has passed; a Python client reads the results.
 * A cold shutdown (SIGQUIT) gives the messages back at once. Build first: npm run build.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { randomUUID } from "node:crypto";
import { pyClient, PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

const ROOT = resolve(__dirname, "..");
const BROKER = testRedisUrl(2);
const BACKEND = testRedisUrl(3);
const py = PYTHONS[0];

interface CliWorker {
  child: ChildProcess;
  output: () => string;
  exited: Promise<void>;
}

function startCliWorker(queue: string, name: string): CliWorker {
  let out = "";
  const child = spawn(process.execPath, [resolve(ROOT, "dist/cli/main.js"), "worker", "-A", "interop-tests/apps/tsapp.js", "-c", "2", "-n", `${name}@%h`], {
    cwd: ROOT,
    env: { ...process.env, TSAPP_BROKER: BROKER, TSAPP_BACKEND: BACKEND, TSAPP_QUEUE: queue, TSAPP_VISIBILITY: "2", TSAPP_ACKS_LATE: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  return { child, output: () => out, exited };
}

const workers: CliWorker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) {
    w.child.kill("SIGKILL");
    await w.exited;
  }
});

async function scenario(kill: (w: CliWorker, ids: string[]) => Promise<void>): Promise<{ ids: string[]; rescuer: CliWorker }> {
  const queue = `hk-${randomUUID().slice(0, 8)}`;
  const env = { PYAPP_BROKER: BROKER, PYAPP_BACKEND: BACKEND, PYAPP_QUEUES: queue };
  const victim = startCliWorker(queue, "victim");
  workers.push(victim);
  await waitFor(() => victim.output().includes("ready."), 15000, "victim ready");
  const send = async (task: string, args: unknown[], options: object = {}) =>
    ((await pyClient(py, ["send", task, "--args", JSON.stringify(args), "--options", JSON.stringify({ queue, ...options })], env)) as { id: string }).id;
  const ids = [
    await send("ts.sleep", [2, "running-1"]),
    await send("ts.sleep", [2, "running-2"]),
    await send("ts.sleep", [0.1, "reserved"]),
    await send("ts.sleep", [0.1, "eta"], { countdown: 3 }),
  ];
  await waitFor(() => ids.every((id) => victim.output().includes(`[${id}] received`)), 15000, "all received by the victim");
  await kill(victim, ids);
  const rescuer = startCliWorker(queue, "rescuer");
  workers.push(rescuer);
  const results = await Promise.all(ids.map((id) => pyClient(py, ["get", id, "--timeout", "40"], env) as Promise<{ state: string; result: unknown }>));
  expect(results.map((r) => [r.state, r.result])).toEqual([
    ["SUCCESS", "running-1"],
    ["SUCCESS", "running-2"],
    ["SUCCESS", "reserved"],
    ["SUCCESS", "eta"],
  ]);
  return { ids, rescuer };
}

test("SIGKILL while running acksLate tasks and holding reserved + ETA messages: nothing is lost", async () => {
  const { rescuer } = await scenario(async (victim) => {
    victim.child.kill("SIGKILL");
    await victim.exited;
  });
  expect(rescuer.output()).toContain("succeeded");
}, 90000);

test("SIGKILL during a warm shutdown (SIGTERM, waiting for running tasks): nothing is lost", async () => {
  await scenario(async (victim) => {
    victim.child.kill("SIGTERM");
    await waitFor(() => victim.output().includes("Warm shutdown"), 5000, "warm shutdown started");
    await new Promise((r) => setTimeout(r, 300));
    victim.child.kill("SIGKILL");
    await victim.exited;
  });
}, 90000);

test("cold shutdown (SIGQUIT) exits at once and gives every held message back", async () => {
  await scenario(async (victim) => {
    const t0 = Date.now();
    victim.child.kill("SIGQUIT");
    await victim.exited;
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(victim.output()).toContain("Cold shutdown");
  });
}, 90000);
