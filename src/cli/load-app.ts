/** Load a module that exports a Celery app (named `app`, or default). */
import { resolve } from "node:path";
import { Celery } from "../app";

/** Require the module at `path` (relative to the working directory) and return its app. */
export function loadApp(path: string): Celery {
  const full = resolve(process.cwd(), path);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const mod = require(full) as { app?: unknown; default?: unknown };
  const candidates = [mod.app, mod.default, (mod.default as { app?: unknown } | undefined)?.app, mod];
  const app = candidates.find((c): c is Celery => c instanceof Celery);
  if (!app) throw new Error(`${path} does not export a Celery app (export it as \`app\` or default)`);
  return app;
}

/** An app for commands that only send or read (no tasks module given). */
export function clientApp(modulePath: string | undefined): Celery {
  return modulePath ? loadApp(modulePath) : new Celery("celeriac");
}
