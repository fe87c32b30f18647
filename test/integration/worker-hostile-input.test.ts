/**
 * A worker on the real private Redis facing hostile or foreign input: zip bombs, prototype keys,
 * control characters and lone surrogates in ids, celery-ts 1.2.3's message shapes, expired tasks.
 * Each refused message is logged once and never crashes the worker.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import * as zlib from "zlib";
import { encodeTask } from "../../src/protocol/encode";
import type { RawMessage, WireValue } from "../../src/protocol/message";
import { captureLogger, perTestApp, storedMeta, testApp } from "../support/app";
import { startCliWorker } from "../support/cli-worker";
import { rawRedis, testRedisUrl } from "../support/redis";
import { waitFor } from "../support/wait";

const MiB = 1024 * 1024;
const t = perTestApp();

function rawTask(task: string, id: string, args: unknown[] = [], extra: { expires?: Date } = {}): RawMessage {
  return encodeTask({ id, task, args: args as never[], kwargs: {}, origin: "test", replyTo: "", expires: extra.expires ?? null }, { serializer: "json" });
}

async function startWorker(settings: Parameters<typeof testApp>[0] = {}) {
  const app = (t.app = testApp(settings));
  app.task("t.add", (x: number, y: number) => x + y);
  // a rest parameter: the keywords arrive as one trailing object
  app.task("t.kwargs", (...[kwargs]: Record<string, unknown>[]) => ({
    prototypeIsObject: Object.getPrototypeOf(kwargs) === Object.prototype,
    ownProto: Object.prototype.hasOwnProperty.call(kwargs, "__proto__"),
    proto: (Object.getOwnPropertyDescriptor(kwargs, "__proto__")?.value as unknown) ?? null,
    ctor: (Object.getOwnPropertyDescriptor(kwargs, "constructor")?.value as unknown) ?? null,
    polluted: ({} as Record<string, unknown>).polluted ?? null,
  }));
  const logger = captureLogger();
  t.worker = app.worker({ concurrency: 2, logger });
  await t.worker.start();
  const transport = await app.connection();
  const publish = (m: RawMessage) => transport.publish(m, { exchange: "", routingKey: app.conf.taskDefaultQueue });
  return { app, logger, publish };
}

describe("hostile input on a Redis worker", () => {
  test("a zlib body inflating past workerMaxMessageSize is rejected once, FAILURE InvalidTaskError stored, the worker runs on", async () => {
    const { app, logger, publish } = await startWorker({ workerMaxMessageSize: 1 * MiB });
    const id = randomUUID();
    const m = rawTask("t.add", id, [1, 2]);
    m.body = zlib.deflateSync(Buffer.alloc(64 * MiB, 0x20));
    m.headers.compression = "application/x-gzip";
    await publish(m);
    await waitFor(async () => (await storedMeta(id)) !== null, 30_000, "FAILURE stored");
    const meta = (await storedMeta(id)) as Record<string, unknown>;
    expect(meta.status).toBe("FAILURE");
    expect(meta.result).toEqual({
      exc_type: "InvalidTaskError",
      exc_message: ["decompressed message body is larger than workerMaxMessageSize (1048576 bytes)"],
      exc_module: "celery.exceptions",
    });
    const lines = logger.lines.filter((l) => l.includes(id));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Received invalid task message: decompressed message body is larger than workerMaxMessageSize \(1048576 bytes\); rejected, not requeued \(task t\.add\[/);
    expect(await app.sendTask("t.add", [2, 3]).then((r) => r.get({ timeout: 20_000 }))).toBe(5);
  }, 60_000);

  test("a body nested deeper than workerMaxNestingDepth is rejected with its reason", async () => {
    const { logger, publish } = await startWorker({ workerMaxNestingDepth: 50 });
    const id = randomUUID();
    const m = rawTask("t.add", id);
    m.body = Buffer.from(`[[${"[".repeat(100)}${"]".repeat(100)}], {}, {}]`);
    await publish(m);
    await waitFor(async () => (await storedMeta(id)) !== null, 20_000, "FAILURE stored");
    expect(((await storedMeta(id)) as { result: { exc_message: string[] } }).result.exc_message[0]).toBe(
      "message body is nested deeper than workerMaxNestingDepth (50 levels)",
    );
    expect(logger.lines.filter((l) => l.includes(id))).toHaveLength(1);
  });

  test.each(["json", "msgpack", "yaml"] as const)("%s: __proto__ and constructor keys reach the handler as own keys of a plain object", async (serializer) => {
    const { app } = await startWorker({ acceptContent: ["json", "msgpack", "yaml"] });
    const kwargs = JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}}') as { [key: string]: WireValue };
    const r = await app.sendTask("t.kwargs", [], kwargs, { serializer });
    expect(await r.get({ timeout: 20_000 })).toEqual({
      prototypeIsObject: true,
      ownProto: true,
      proto: { polluted: 1 },
      ctor: { prototype: { polluted: 2 } },
      polluted: null,
    });
  });

  test("control characters in a task id and name are escaped in every log line", async () => {
    const { logger, publish } = await startWorker();
    const id = `${randomUUID()}\n[2030-01-01 00:00:00,000: ERROR/MainProcess] forged\u001b[31m`;
    await publish(rawTask("t.add", id, [1, 1]));
    await publish(rawTask("t.nope\r\nforged", `${randomUUID()}\u0007`));
    await waitFor(() => logger.lines.some((l) => l.includes("succeeded")), 20_000, "task run");
    await waitFor(() => logger.lines.some((l) => l.includes("unregistered")), 20_000, "unregistered logged");
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point of this test
    for (const line of logger.lines) expect(line).not.toMatch(/[\u0000-\u001f\u007f]/);
    expect(logger.lines.some((l) => l.includes("\\n[2030-01-01 00:00:00,000: ERROR/MainProcess] forged\\x1b[31m] received"))).toBe(true);
    expect(logger.lines.some((l) => l.includes("'t.nope\\r\\nforged'") && l.includes("\\x07"))).toBe(true);
  });

  test("a task id with a lone surrogate is refused and logged once, the worker runs on", async () => {
    const { app, logger, publish } = await startWorker();
    const id = `${randomUUID()}\ud800`;
    await publish(rawTask("t.add", id, [1, 1]));
    await waitFor(() => logger.lines.some((l) => l.includes("lone surrogate")), 20_000, "refusal logged");
    const lines = logger.lines.filter((l) => l.includes("lone surrogate"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`t.add[${id.slice(0, -1)}\\ud800]`);
    expect(await app.sendTask("t.add", [1, 1]).then((r) => r.get({ timeout: 20_000 }))).toBe(2);
  });

  test("an expired task is discarded with Celery's wording and stored REVOKED", async () => {
    const { logger, publish } = await startWorker();
    const id = randomUUID();
    await publish(rawTask("t.add", id, [1, 1], { expires: new Date(Date.now() - 60_000) }));
    await waitFor(async () => (await storedMeta(id)) !== null, 20_000, "REVOKED stored");
    expect(((await storedMeta(id)) as { status: string }).status).toBe("REVOKED");
    // celery/worker/request.py Request.revoked: info('Discarding revoked task: %s[%s]', self.name, self.id)
    expect(logger.lines.filter((l) => l.includes("Discarding revoked task") && l.includes(id))).toEqual([expect.stringContaining(`Discarding revoked task: t.add[${id}]`)]);
    expect(logger.lines.some((l) => l.includes("expired. Discarding"))).toBe(false);
  });
});

/** celery-ts 1.2.3's Redis messages (dist/task.js + redis/broker.js): JSON.stringify'd, LPUSHed to the queue. */
function celeryTsRedisMessage(task: string, id: string, args: unknown[], queue: string, compressed: boolean): string {
  const json = Buffer.from(JSON.stringify([args, {}, { callbacks: null, chain: null, chord: null, errbacks: null }]));
  const encoding = compressed ? "base64" : "utf-8";
  const headers: Record<string, unknown> = {
    argsrepr: JSON.stringify(args), eta: null, expires: null, group: null, id, kwargsrepr: "{}", lang: "py",
    origin: "1@celery-ts", parent_id: null, retries: 0, root_id: id, shadow: null, task, timelimit: [null, null],
  };
  if (compressed) headers.compression = "application/x-gzip";
  return JSON.stringify({
    body: compressed ? zlib.deflateSync(json).toString("base64") : json.toString("utf8"),
    "content-encoding": encoding,
    "content-type": "application/json",
    headers,
    properties: {
      body_encoding: encoding, correlation_id: id, delivery_info: { exchange: "", routing_key: queue },
      delivery_mode: 2, delivery_tag: "celery", queue, priority: 0, reply_to: "celery-ts-app",
    },
  });
}

describe("celery-ts 1.2.3 messages", () => {
  test.each([false, true])("compressed=%s: a celery-ts Redis message runs on the worker", async (compressed) => {
    const { app } = await startWorker();
    const id = randomUUID();
    const redis = rawRedis(8);
    try {
      await redis.lpush(app.conf.taskDefaultQueue, celeryTsRedisMessage("t.add", id, [20, 22], app.conf.taskDefaultQueue, compressed));
    } finally {
      redis.disconnect();
    }
    await waitFor(async () => (await storedMeta(id)) !== null, 20_000, "result stored");
    expect(await storedMeta(id)).toMatchObject({ status: "SUCCESS", result: 42 });
  });
});

describe("bounded memory (CLI worker)", () => {
  test("a sub-MiB zlib bomb of 256 MiB leaves the worker's peak RSS far below the inflated size", async () => {
    const w = startCliWorker(testRedisUrl(8), testRedisUrl(9), "bomb");
    try {
      await waitFor(() => w.output().includes("ready."), 30_000, "worker ready");
      const app = (t.app = testApp({ taskDefaultQueue: w.queue }));
      const transport = await app.connection();
      const id = randomUUID();
      const m = rawTask("ts.add", id, [1, 2]);
      m.body = zlib.deflateSync(Buffer.alloc(256 * MiB, 0x20), { level: 9 });
      m.headers.compression = "application/x-gzip";
      expect(m.body.length).toBeLessThan(1 * MiB);
      await transport.publish(m, { exchange: "", routingKey: w.queue });
      await waitFor(async () => (await storedMeta(id)) !== null, 60_000, "FAILURE stored");
      expect(((await storedMeta(id)) as { status: string }).status).toBe("FAILURE");
      const hwmKb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${w.child.pid}/status`, "utf8"))?.[1]);
      expect(hwmKb * 1024).toBeLessThan(160 * MiB);
      expect(await app.sendTask("ts.add", [2, 2]).then((r) => r.get({ timeout: 20_000 }))).toBe(4);
    } finally {
      w.child.kill("SIGTERM");
      await w.exited;
    }
  }, 120_000);
});
