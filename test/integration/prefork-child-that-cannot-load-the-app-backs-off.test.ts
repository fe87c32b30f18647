/**
 * Prefork: a child whose app module throws while loading (here with a broker URL and its password
 * in the message) reports the error to the main process and exits. The worker logs it through its
 * Logger (masked, naming the child) and starts a new child after 1 s, then 2 s, 4 s, ... (up to
 * 30 s), saying so, and stays up; nothing of the child reaches the terminal unmasked. Once a child
 * loads the module again, tasks run and the delay is back to 1 s. Build first: npm run build.
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Celery } from "../../src";
import { TSAPP, testApp } from "../support/app";
import { childPids, startCliWorker, type CliWorker } from "../support/cli-worker";
import { testRedisUrl } from "../support/redis";
import { waitFor } from "../support/wait";

const dir = mkdtempSync(join(tmpdir(), "celeriac-cannot-load-"));
const marker = join(dir, "broken");
const appModule = join(dir, "app.js");
// The CLI's main process loads it too (to find the app): only a child (forked, with IPC) throws.
writeFileSync(
  appModule,
  `if (process.send && require("node:fs").existsSync(${JSON.stringify(marker)})) throw new Error("could not reach redis://admin:s3cret@db.internal:6379/0");\n` +
    `module.exports = require(${JSON.stringify(TSAPP)});\n`,
);
let w: CliWorker | undefined;
let client: Celery | undefined;

afterAll(async () => {
  await w?.stop();
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

const count = (text: string) => (w as CliWorker).output().split(text).length - 1;

test("the masked error and a backoff retry line are logged, never the password; the worker stays up and recovers", async () => {
  writeFileSync(marker, "");
  w = startCliWorker(testRedisUrl(8), testRedisUrl(9), "cannot-load", [], {}, appModule);
  client = testApp({ taskDefaultQueue: w.queue });
  await waitFor(() => count("exited before it was ready; starting a new one in 2 s") === 1, 20000, "the second retry");
  const out = w.output();
  expect(out).toMatch(/ERROR\/MainProcess\] Pool process 'ForkPoolWorker-\d+' pid:\d+ could not load the app module .*app\.js; it exits:\n[\s\S]*?Error: could not reach redis:\/\/admin:\*\*@db\.internal:6379\/0\n/);
  expect(out).toMatch(/WARNING\/MainProcess\] Process 'ForkPoolWorker-\d+' pid:\d+ exited before it was ready; starting a new one in 1 s\n/);
  expect(out).not.toContain("s3cret");
  expect(w.child.exitCode).toBeNull();

  // The module loads again: the next child comes online and runs tasks.
  unlinkSync(marker);
  expect(await (await client.sendTask("ts.add", [2, 3])).get({ timeout: 20000 })).toBe(5);

  // A child came online, so the delay is back to 1 s: an online child killed, its replacement cannot load.
  writeFileSync(marker, "");
  const before = count("starting a new one in 1 s");
  process.kill(childPids(w.child.pid as number)[0], "SIGKILL");
  await waitFor(() => count("starting a new one in 1 s") === before + 1, 10000, "a retry after 1 s again");
  unlinkSync(marker);
  expect(w.output()).not.toContain("s3cret");
  expect(w.child.exitCode).toBeNull();
});
