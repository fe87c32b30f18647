/** One caller waiting for a task's ready state, shared by the backends' `waitForReady`. */
import type { ResultMeta } from "../protocol/result-meta";

/** Settles its promise once; later calls are ignored. */
export interface Waiter {
  resolve(meta: ResultMeta): void;
  reject(err: Error): void;
  /** True once resolved, rejected or timed out. */
  done(): boolean;
}

/**
 * A promise for one waiter: `start` registers it (and may settle it at once); it settles once,
 * by the backend or with `timeoutError()` after `timeoutMs` (null = never); `release` runs once,
 * before it settles, to unregister it.
 */
export function waitOnce(
  timeoutMs: number | null,
  timeoutError: () => Error,
  release: (waiter: Waiter) => void,
  start: (waiter: Waiter) => void,
): Promise<ResultMeta> {
  return new Promise<ResultMeta>((resolve, reject) => {
    let timer: NodeJS.Timeout | null = null;
    let settled = false;
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      release(waiter);
      f();
    };
    const waiter: Waiter = {
      resolve: (meta) => finish(() => resolve(meta)),
      reject: (err) => finish(() => reject(err)),
      done: () => settled,
    };
    if (timeoutMs !== null) timer = setTimeout(() => waiter.reject(timeoutError()), Math.max(0, timeoutMs));
    try {
      start(waiter);
    } catch (err) {
      waiter.reject(err as Error);
    }
  });
}
