/**
 * Load the module that exports a Celery app (`-A`, named `app`, or default): CommonJS by
 * `require`, ES modules by `import()` (every supported Node, with or without `require(esm)`),
 * TypeScript through `tsx` when it can be resolved from the working directory. The app is
 * recognised by its shape, not `instanceof`, so an app made by another installed copy of
 * celeriac (a project's own, next to a global CLI) is found too.
 */
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { CeleryClient } from "../app";
import { Celery } from "../celery";

/** URLs given by celery's global options `-b/--broker` and `--result-backend`. */
export interface CliUrls {
  broker?: string;
  resultBackend?: string;
}

let cliUrls: CliUrls = {};

/**
 * Celery's `-b` and `--result-backend`: they set CELERY_BROKER_URL and CELERY_RESULT_BACKEND
 * (so pool children and everything else started from here see them), and they beat the URLs
 * the app was given in code, as the variables do in Celery.
 */
export function setCliUrls(urls: CliUrls): void {
  cliUrls = urls;
  if (urls.broker) process.env.CELERY_BROKER_URL = urls.broker;
  if (urls.resultBackend) process.env.CELERY_RESULT_BACKEND = urls.resultBackend;
}

function applyCliUrls<T extends CeleryClient>(app: T): T {
  if (cliUrls.broker) app.conf.broker = cliUrls.broker;
  if (cliUrls.resultBackend) app.conf.backend = cliUrls.resultBackend;
  return app;
}

const TYPESCRIPT = new Set([".ts", ".mts", ".cts", ".tsx"]);

/** `import()` kept as is by the CommonJS build (tsc would turn it into `require`). */
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- the one way to keep a real import() in CommonJS output
const importModule = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<unknown>;

let tsxRegistered = false;

/**
 * Load tsx's loader (what `node --import tsx` runs: TypeScript for `require` and `import()`) in
 * this process, and in pool children through NODE_OPTIONS, resolving tsx from the working
 * directory, then from celeriac's own place. Throws a one-line hint when tsx is not installed.
 */
async function registerTsx(path: string): Promise<void> {
  if (tsxRegistered) return;
  let loader: string;
  try {
    loader = pathToFileURL(require.resolve("tsx", { paths: [process.cwd(), __dirname] })).href;
  } catch {
    throw new Error(`${path} is TypeScript: install tsx to load it with -A (npm install --save-dev tsx), or compile it to JavaScript and pass the .js file`);
  }
  await importModule(loader);
  // Prefork children load the app module too (the threads pool does not read NODE_OPTIONS).
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --import ${loader}`.trim();
  tsxRegistered = true;
}

/** The module at `full`: `require`, or `import()` for an ES module `require` cannot load. */
async function loadModule(full: string): Promise<unknown> {
  const ext = extname(full);
  if (ext === ".mjs" || ext === ".mts") return importModule(pathToFileURL(full).href);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the user's app module, named at run time (-A)
    return require(full);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ERR_REQUIRE_ESM" && code !== "ERR_REQUIRE_ASYNC_MODULE") throw err;
    return importModule(pathToFileURL(full).href);
  }
}

/** A Celery app by its shape: settings, a task map, sending (any copy of celeriac). */
function isApp(value: unknown): value is CeleryClient {
  const v = value as { conf?: unknown; tasks?: unknown; sendTask?: unknown } | null;
  return typeof v === "object" && v !== null && v.tasks instanceof Map && typeof v.sendTask === "function" && typeof v.conf === "object" && v.conf !== null;
}

/** Load the module at `path` (relative to the working directory) and return its app. */
export async function loadApp(path: string): Promise<CeleryClient> {
  const full = resolve(process.cwd(), path);
  if (TYPESCRIPT.has(extname(full))) await registerTsx(path);
  const mod = (await loadModule(full)) as { app?: unknown; default?: unknown } | null;
  const candidates = [mod?.app, mod?.default, (mod?.default as { app?: unknown } | undefined)?.app, mod];
  const app = candidates.find(isApp);
  if (!app) throw new Error(`${path} does not export a Celery app (export it as \`app\` or default)`);
  return applyCliUrls(app);
}

/** The app of `path` for `celeriac worker`: a `Celery` (the client entry's app has no worker). */
export async function loadWorkerApp(path: string): Promise<Celery> {
  const app = await loadApp(path);
  if (typeof (app as unknown as Partial<Celery>).worker !== "function") {
    throw new Error(`${path} exports an app of the client entry (celeriac/dist/client); a worker needs \`Celery\` from "celeriac"`);
  }
  return app as unknown as Celery;
}

/** An app for commands that only send or read (no tasks module given). */
export async function clientApp(modulePath: string | undefined): Promise<CeleryClient> {
  return modulePath ? loadApp(modulePath) : applyCliUrls(new Celery("celeriac"));
}
