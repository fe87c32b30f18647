/**
 * Timers of any length. Node's `setTimeout` holds at most 2^31-1 ms (~24.8 days); a longer delay
 * overflows and fires at once (a countdown of 30 days would run the task now). A long timer waits
 * in chunks of at most that size and re-arms until the deadline, so an ETA in year 9999 is held.
 */

/** The longest delay one `setTimeout` holds. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** A timer that can be cleared. */
export interface LongTimer {
  clear(): void;
}

/**
 * Call `fn` once `delayMs` have passed (from now), however long that is. Infinity never fires;
 * NaN fires at once.
 */
export function setLongTimeout(fn: () => void, delayMs: number): LongTimer {
  // NaN (an unusable date) fires at once rather than never.
  const delay = Number.isNaN(delayMs) ? 0 : Math.max(0, delayMs);
  const deadline = Date.now() + delay;
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
  };
  if (delay === 0) timer = setTimeout(arm, 0);
  else arm();
  return {
    clear: () => {
      cleared = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
