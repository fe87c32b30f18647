/**
 * Timers of any length. Node's `setTimeout` holds at most 2^31-1 ms (~24.8 days); a longer delay
 * overflows and fires at once (a countdown of 30 days would run the task now). A long timer waits
 * in chunks of at most that size and re-arms until the deadline, so an ETA in year 9999 is held.
 */

/** The longest delay one `setTimeout` holds. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** A timer that can be cleared; `unref`'d timers do not keep the process alive. */
export interface LongTimer {
  clear(): void;
}

/**
 * Call `fn` once `delayMs` have passed (from now), however long that is. Non-finite delays
 * (Infinity) never fire. `unref: true` lets the process exit while it waits.
 */
export function setLongTimeout(fn: () => void, delayMs: number, options: { unref?: boolean } = {}): LongTimer {
  const deadline = Date.now() + Math.max(0, delayMs);
  let timer: NodeJS.Timeout | null = null;
  let cleared = false;
  const arm = (): void => {
    if (cleared) return;
    const left = deadline - Date.now();
    if (left <= 0) {
      timer = null;
      fn();
      return;
    }
    if (!Number.isFinite(left)) return;
    timer = setTimeout(arm, Math.min(left, MAX_TIMEOUT_MS));
    if (options.unref) timer.unref();
  };
  if (delayMs <= 0) timer = setTimeout(arm, 0);
  else arm();
  return {
    clear: () => {
      cleared = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
