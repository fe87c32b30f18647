/**
 * `Celery`: the app with its worker. It adds to `CeleryClient` (src/app.ts) the two things only a
 * worker needs: `worker()`, and Celery's builtin canvas tasks (celery.map, celery.chord_unlock, ...)
 * in the registry. Keeping them here means `app.ts` never loads worker code, and the worker
 * depends on `AppContext`, not on this class.
 */
import { CeleryClient } from "./app";
import type { CelerySettings } from "./app";
import { registerCanvasBuiltins } from "./worker/canvas";
import { Worker } from "./worker/worker";
import type { WorkerOptions } from "./worker/worker";

/** A Celery app, compatible with Python Celery apps sharing the same broker and backend. */
export class Celery extends CeleryClient {
  /**
   * An app named `main` (Celery's `main`) with `settings` over the defaults and the environment.
   * Its registry holds Celery's canvas builtins from the start, as a Python app's does, so every
   * process loading the app (a thread of the threads pool too) can run them.
   */
  constructor(main: string, settings: CelerySettings = {}) {
    super(main, settings);
    registerCanvasBuiltins(this);
  }

  /** A worker consuming this app's queues. */
  worker(options: WorkerOptions = {}): Worker {
    return new Worker(this, options);
  }
}
