/**
 * Warnings about names celeriac does not know (a setting, a task annotation's attribute), each
 * given once per process with the nearest known name. Pure apart from `process.emitWarning`.
 */

/** Edit distance (insert, delete, replace) between two strings, case-insensitively. */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** The known name closest to `name` (the first of equals), or null when there are none. */
export function nearestName(name: string, known: Iterable<string>): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

const warned = new Set<string>();

/** Emit `message` as a `CeleriacWarning` once per process (`process.on("warning")` sees it; Node prints it to stderr). */
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.emitWarning(message, "CeleriacWarning");
}

/** Warn once: "Unknown <what> 'name' (did you mean 'nearest'?)". */
export function warnUnknownName(what: string, name: string, known: Iterable<string>): void {
  const nearest = nearestName(name, known);
  warnOnce(`Unknown ${what} '${name}'${nearest ? ` (did you mean '${nearest}'?)` : ""}`);
}
