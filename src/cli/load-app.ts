/** Load a module that exports a Celery app (named `app`, or default). */
import { resolve } from "node:path";
import { CeleryClient } from "../app";
import { Celery } from "../celery";

/** Require the module at `path` (relative to the working directory) and return its app. */
export function loadApp(path: string): CeleryClient {
  const full = resolve(process.cwd(), path);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the user's app module, named at run time (-A)
  const mod = require(full) as { app?: unknown; default?: unknown };
  const candidates = [mod.app, mod.default, (mod.default as { app?: unknown } | undefined)?.app, mod];
  const app = candidates.find((c): c is CeleryClient => c instanceof CeleryClient);
  if (!app) throw new Error(`${path} does not export a Celery app (export it as \`app\` or default)`);
  return app;
}

/** The app of `path` for `celeriac worker`: a `Celery` (the client entry's app has no worker). */
export function loadWorkerApp(path: string): Celery {
  const app = loadApp(path);
  if (!(app instanceof Celery)) throw new Error(`${path} exports an app of the client entry (celeriac/dist/client); a worker needs \`Celery\` from "celeriac"`);
  return app;
}

/** An app for commands that only send or read (no tasks module given). */
export function clientApp(modulePath: string | undefined): CeleryClient {
  return modulePath ? loadApp(modulePath) : new Celery("celeriac");
}
