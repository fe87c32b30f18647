/**
 * What a user gets from npm. The package is packed as from a clean clone: `npm pack` in a copy of
 * the sources (package.json, README, LICENSE, tsconfigs, src/) whose `prepare` builds a fresh
 * dist/, so this repository's dist/ and node_modules are never touched (the copy's node_modules
 * is a symlink to them, read only for tsc). The tarball is installed with npm into a scratch
 * project in a temp dir (dependencies from npm's cache, else the registry), then used as a user
 * would: required from CommonJS, imported from ESM, a typed tasks file compiled with this
 * repository's TypeScript under NodeNext (as CommonJS and as ESM), Bundler and node10 resolution
 * and run, a task run on `memory://`, the CLI started.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const ROOT = resolve(__dirname, "../..");
const TSC = resolve(ROOT, "node_modules/typescript/bin/tsc");
const execFileP = promisify(execFile);

/** The environment of an npm run without what `npm test` sets for this repository (local_prefix would point npm here). */
function npmEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_(package_|lifecycle_|command$|config_local_prefix$)/i.test(key) || key === "INIT_CWD") delete env[key];
  }
  return env;
}

async function run(file: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await execFileP(file, args, { cwd, env: npmEnv(), timeout: 240_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(" ")} failed in ${cwd}: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}
const npm = (args: string[], cwd: string) => run("npm", args, cwd);
const node = (args: string[], cwd: string) => run(process.execPath, args, cwd);

/** The four packages only some users need: optional peers, not installed with celeriac. */
const OPTIONAL = ["@napi-rs/lzma", "astronomy-engine", "compressjs", "fzstd"];

/** A user's typed tasks file: compiled under each resolution below, and run. */
const TASKS_TS = `
import { Celery, Logger, chain } from "celeriac";
import type { AsyncResult, Worker } from "celeriac";
import { CeleryClient } from "celeriac/client";

export const app = new Celery("consumer", { broker: "memory://", backend: "cache+memory://" });
export const add = app.task("consumer.add", (x: number, y: number) => x + y, { params: ["x", "y"] });

// @ts-expect-error -- add takes numbers: the types refuse a string
void add.s("x");
const client: CeleryClient = new CeleryClient("sender", { broker: "memory://" });

export async function main(): Promise<number> {
  const worker: Worker = app.worker({ concurrency: 1, logger: new Logger("ERROR") });
  await worker.start();
  const sent: AsyncResult<number> = await add.delay(2, 3);
  const five: number = await sent.get({ timeout: 10_000 });
  const r = await chain(add.s(five, 1), add.s(10)).applyAsync();
  const sixteen: number = await r.get({ timeout: 10_000 });
  await worker.stop();
  await app.close();
  await client.close();
  return sixteen;
}
`;

/** Run TASKS_TS's main, compiled as CommonJS and as ESM, and print its result. */
const RUN_TASKS_CJS = `require("./out-nodenext/tasks.js").main().then((n) => console.log(JSON.stringify({ ran: n })), (e) => { console.error(e); process.exit(1); });`;
const RUN_TASKS_ESM = `import("./out-nodenext/tasks-esm.mjs").then((m) => m.main()).then((n) => console.log(JSON.stringify({ ran: n })), (e) => { console.error(e); process.exit(1); });`;

/** The part of a program using celeriac that CommonJS and ESM share: a worker and a task on memory://. */
const RUN_ON_MEMORY = `
const app = new Celery("plain", { broker: "memory://", backend: "cache+memory://" });
const add = app.task("plain.add", (x, y) => x + y);
const worker = app.worker({ concurrency: 1, logger: new Logger("ERROR") });
await worker.start();
const result = await (await add.delay(2, 3)).get({ timeout: 10000 });
await worker.stop();
await app.close();
`;

const CJS = `
const { Celery, Logger, MissingOptionalPackageError } = require("celeriac");
const client = require("celeriac/client");
const legacyClient = require("celeriac/dist/client");
const notExported = (path) => { try { require(path); return false; } catch (err) { return err.code === "ERR_PACKAGE_PATH_NOT_EXPORTED"; } };
(async () => {
${RUN_ON_MEMORY}
  console.log(JSON.stringify({
    result,
    clientHasNoWorker: typeof new client.Celery("c").worker,
    legacyClientSame: legacyClient.CeleryClient === client.CeleryClient,
    cli: require.resolve("celeriac/cli").endsWith("/node_modules/celeriac/dist/cli/main.js"),
    version: require("celeriac/package.json").version,
    internalsHidden: notExported("celeriac/dist/worker/worker") && notExported("celeriac/dist/protocol/compression"),
    errorExported: typeof MissingOptionalPackageError,
  }));
})().catch((err) => { console.error(err); process.exit(1); });
`;

const ESM = `
import { Celery, Logger } from "celeriac";
import celeriac from "celeriac";
import { CeleryClient, Celery as ClientCelery } from "celeriac/client";
${RUN_ON_MEMORY}
console.log(JSON.stringify({
  result,
  defaultImport: celeriac.Celery === Celery,
  clientHasNoWorker: typeof new ClientCelery("c").worker,
  clientClass: ClientCelery === CeleryClient,
}));
`;

/** tsconfig of the scratch project for one resolution; strict, and the package's .d.ts checked too. */
function tsconfig(options: Record<string, string | boolean>, include: string[]): string {
  return JSON.stringify({ compilerOptions: { strict: true, skipLibCheck: false, target: "ES2022", types: ["node"], ...options }, include });
}

let stage: string;
let app: string;
let packed: { filename: string; files: { path: string }[] };

beforeAll(async () => {
  stage = mkdtempSync(join(tmpdir(), "celeriac-consumer-"));
  const pkg = join(stage, "pkg");
  for (const f of ["package.json", "README.md", "LICENSE", "tsconfig.json", "tsconfig.build.json", "src"]) cpSync(resolve(ROOT, f), join(pkg, f), { recursive: true });
  symlinkSync(resolve(ROOT, "node_modules"), join(pkg, "node_modules"), "dir");
  packed = (JSON.parse(await npm(["pack", "--json", "--pack-destination", stage, "--loglevel=error"], pkg)) as (typeof packed)[])[0];

  app = join(stage, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }));
  const typesNode = (JSON.parse(readFileSync(resolve(ROOT, "node_modules/@types/node/package.json"), "utf8")) as { version: string }).version;
  await npm(["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", join(stage, packed.filename), `@types/node@${typesNode}`], app);

  writeFileSync(join(app, "tasks.ts"), TASKS_TS);
  writeFileSync(join(app, "tasks-esm.mts"), TASKS_TS);
  writeFileSync(join(app, "cjs.cjs"), CJS);
  writeFileSync(join(app, "esm.mjs"), ESM);
  writeFileSync(join(app, "run-tasks.cjs"), RUN_TASKS_CJS);
  writeFileSync(join(app, "run-tasks.mjs"), RUN_TASKS_ESM);
  writeFileSync(join(app, "tsconfig.nodenext.json"), tsconfig({ module: "NodeNext", moduleResolution: "NodeNext", outDir: "out-nodenext" }, ["tasks.ts", "tasks-esm.mts"]));
  writeFileSync(join(app, "tsconfig.bundler.json"), tsconfig({ module: "ESNext", moduleResolution: "Bundler", noEmit: true }, ["tasks.ts"]));
  writeFileSync(join(app, "tsconfig.node10.json"), tsconfig({ module: "CommonJS", moduleResolution: "node10", esModuleInterop: true, noEmit: true }, ["tasks.ts"]));
}, 300_000);

afterAll(() => {
  if (stage) rmSync(stage, { recursive: true, force: true });
});

test("the tarball holds the built dist/ (entries with their types), LICENSE, README and package.json: no sources, no source maps", () => {
  const files = packed.files.map((f) => f.path);
  expect(files.filter((f) => !f.startsWith("dist/")).sort()).toEqual(["LICENSE", "README.md", "package.json"]);
  expect(files).toEqual(expect.arrayContaining(["dist/index.js", "dist/index.d.ts", "dist/client.js", "dist/client.d.ts", "dist/cli/main.js", "dist/worker/pools/prefork-child.js"]));
  expect(files.filter((f) => f.endsWith(".map") || f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
});

test("a production install holds none of the optional packages; they are optional peers", () => {
  const manifest = JSON.parse(readFileSync(join(app, "node_modules/celeriac/package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  };
  expect(OPTIONAL.filter((p) => manifest.peerDependenciesMeta?.[p]?.optional === true)).toEqual(OPTIONAL);
  expect(Object.keys(manifest.dependencies ?? {}).filter((p) => OPTIONAL.includes(p))).toEqual([]);
  expect(OPTIONAL.filter((p) => existsSync(join(app, "node_modules", p)))).toEqual([]);
});

test("CommonJS: require('celeriac') runs a task on memory://; ./client, ./cli and ./package.json are exported, internal files are not", async () => {
  expect(JSON.parse(await node(["cjs.cjs"], app))).toEqual({
    result: 5,
    clientHasNoWorker: "undefined",
    legacyClientSame: true,
    cli: true,
    version: "0.1.0",
    internalsHidden: true,
    errorExported: "function",
  });
});

test("ESM: import from 'celeriac' (named and default) and 'celeriac/client' runs a task on memory://", async () => {
  expect(JSON.parse(await node(["esm.mjs"], app))).toEqual({ result: 5, defaultImport: true, clientHasNoWorker: "undefined", clientClass: true });
});

test.each(["bundler", "node10"])("a typed tasks file type-checks under %s resolution, the package's .d.ts included", async (resolution) => {
  await node([TSC, "-p", `tsconfig.${resolution}.json`], app);
});

test("a typed tasks file compiles under NodeNext, as CommonJS and as ESM, and its tasks run on memory://", async () => {
  await node([TSC, "-p", "tsconfig.nodenext.json"], app);
  expect(JSON.parse(await node(["run-tasks.cjs"], app))).toEqual({ ran: 16 });
  expect(JSON.parse(await node(["run-tasks.mjs"], app))).toEqual({ ran: 16 });
});

test("the celeriac bin is installed and starts", async () => {
  expect(await node([join(app, "node_modules/.bin/celeriac"), "--help"], app)).toContain("celeriac worker");
});
