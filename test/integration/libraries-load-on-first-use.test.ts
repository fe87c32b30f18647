/**
 * `require("celeriac")` loads no client library until something uses it: ioredis for a Redis
 * broker or backend, amqplib for an AMQP broker, yaml and msgpackr for their serializers, the
 * compression codecs and astronomy-engine for what needs them, yargs only in the CLI. Checked in a
 * child `node` process on the built dist/, so nothing jest or other tests loaded counts. That each
 * works once loaded is what the serializer, compression and transport tests show.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";

const ROOT = resolve(__dirname, "../..");
const DIST = resolve(ROOT, "dist");
const run = promisify(execFile);

const LIBRARIES = ["ioredis", "amqplib", "yaml", "msgpackr", "uuid", "yargs", "compressjs", "fzstd", "@napi-rs/lzma", "astronomy-engine"];

/**
 * The npm packages (by name; a file of amqplib as `amqplib/<path>`) loaded after requiring the
 * full entry and then running `use` (a script body with `celeriac`, the entry's exports, and
 * `dist`, its folder, in scope; it may await).
 */
async function packagesLoaded(use = ""): Promise<string[]> {
  if (!existsSync(resolve(DIST, "index.js"))) throw new Error("dist/index.js is missing: run npm run build first");
  const script = `(async () => {
const dist = ${JSON.stringify(DIST)};
const celeriac = require(dist);
${use}
const out = new Set();
for (const file of Object.keys(require.cache)) {
  const i = file.lastIndexOf("/node_modules/");
  if (i < 0) continue;
  const parts = file.slice(i + 14).split("/");
  const name = parts[0].startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  out.add(name === "amqplib" ? "amqplib/" + parts.slice(1).join("/") : name);
}
process.stdout.write(JSON.stringify([...out]));
process.exit(0);
})().catch((err) => { console.error(err); process.exit(1); });`;
  const { stdout } = await run(process.execPath, ["-e", script], { cwd: ROOT });
  return JSON.parse(stdout) as string[];
}

/** The entries of LIBRARIES among loaded packages, sorted. */
const libraries = (loaded: string[]): string[] => loaded.filter((p) => LIBRARIES.includes(p.startsWith("amqplib/") ? "amqplib" : p)).sort();

test("requiring the full entry loads none of the client libraries (amqplib's field codec is patched when the AMQP transport loads)", async () => {
  const loaded = await packagesLoaded();
  expect(libraries(loaded)).toEqual([]);
});

test("a Redis app loads ioredis when it first connects, and nothing of AMQP, YAML or msgpack", async () => {
  const loaded = await packagesLoaded(`
const app = new celeriac.Celery("lazy", { broker: "redis://127.0.0.1:1/0", backend: "redis://127.0.0.1:1/1" });
await app.connection({ retry: false }).catch(() => undefined);
await app.backend().catch(() => undefined);
await app.close();`);
  expect(libraries(loaded)).toEqual(["ioredis"]);
});

test("an AMQP app loads amqplib when it first connects, and not ioredis", async () => {
  const loaded = await packagesLoaded(`
const app = new celeriac.Celery("lazy", { broker: "amqp://guest:guest@127.0.0.1:1//" });
await app.connection({ retry: false }).catch(() => undefined);
await app.close();`);
  expect(loaded).toContain("amqplib/channel_api.js");
  expect(loaded).not.toContain("ioredis");
});

test.each([
  ["yaml", `require(dist + "/protocol/serializers").serialize({ a: 1 }, "yaml")`],
  ["msgpackr", `require(dist + "/protocol/serializers").serialize({ a: 1 }, "msgpack")`],
  ["compressjs", `require(dist + "/protocol/compression").compress(Buffer.from("x"), "bzip2")`],
  ["ioredis", `new celeriac.RedisStore("redis://127.0.0.1:1/0")`],
  ["astronomy-engine", `celeriac.solar("sunrise", 0, 0).remainingEstimate(Date.now(), Date.now(), { timezone: "UTC" })`],
])("%s is loaded by its first use", async (library, use) => {
  expect(await packagesLoaded()).not.toContain(library);
  expect(await packagesLoaded(use + ";")).toContain(library);
});
