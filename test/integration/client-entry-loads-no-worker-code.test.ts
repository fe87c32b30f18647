/**
 * The client entry (dist/client.js) is for programs that only send tasks and read results:
 * requiring it must not load the worker (dist/worker/). Checked in a child `node` process, so
 * nothing jest or other tests loaded counts. Needs `npm run build` (as the CLI tests).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";

const ROOT = resolve(__dirname, "../..");
const run = promisify(execFile);

/** The dist/ modules (relative paths) loaded by requiring `entry` in a fresh node process. */
async function modulesLoadedBy(entry: string): Promise<string[]> {
  const file = resolve(ROOT, entry);
  if (!existsSync(file)) throw new Error(`${entry} is missing: run npm run build first`);
  const script = `require(${JSON.stringify(file)});
const dist = ${JSON.stringify(resolve(ROOT, "dist") + "/")};
process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((k) => k.startsWith(dist)).map((k) => k.slice(dist.length))));`;
  const { stdout } = await run(process.execPath, ["-e", script], { cwd: ROOT });
  return JSON.parse(stdout) as string[];
}

test("requiring dist/client.js loads no module of dist/worker/", async () => {
  const loaded = await modulesLoadedBy("dist/client.js");
  expect(loaded).toContain("app.js");
  expect(loaded.filter((m) => m.startsWith("worker/"))).toEqual([]);
});

test("the full entry dist/index.js does load the worker (the check above can fail)", async () => {
  const loaded = await modulesLoadedBy("dist/index.js");
  expect(loaded).toContain("worker/worker.js");
});

test("the client entry's Celery has sendTask, but no worker() and no worker builtins in its registry", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the built dist/client.js, loaded when this test runs
  const client = require(resolve(ROOT, "dist/client.js")) as typeof import("../../src/client");
  const app = new client.Celery("client-only", { broker: "redis://127.0.0.1:1/0" });
  expect(typeof app.sendTask).toBe("function");
  expect(typeof (app as unknown as { worker?: unknown }).worker).toBe("undefined");
  expect(app.tasks.size).toBe(0);
});
