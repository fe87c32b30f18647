/** Waiting in tests: the one `waitFor` and `sleep` every suite uses. */

/** Wait until `check` returns true, or throw after `ms`. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 10000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
