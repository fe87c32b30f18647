/**
 * Celery's `--pidfile` lock (celery.platforms `create_pidlock`): the file is created exclusively
 * with this process's pid; one left by a process that no longer runs (or unreadable) is removed
 * first with Celery's message; one of a live process stops the program with Celery's error and
 * exit status 73 (EX_CANTCREAT). The lock is removed when the process exits.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";

/** Exit status of a pidfile held by a running process (EX_CANTCREAT). */
export const EX_CANTCREAT = 73;

function remove(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already, or not ours to remove: as Celery's ignore_errno(ENOENT, EACCES)
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH or EPERM: Celery counts both as stale
    return false;
  }
}

/** The pid in `path`, null when there is no file, NaN when its contents are not a pid. */
function readPid(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  const line = text.split("\n")[0].trim();
  return /^\d+$/.test(line) ? Number(line) : Number.NaN;
}

/** Take the pidfile at `path` or exit as Celery does; returns a function that releases it. */
export function createPidlock(path: string, stderr: (line: string) => void = (l) => process.stderr.write(l + "\n")): () => void {
  const pid = readPid(path);
  if (pid !== null) {
    if (Number.isNaN(pid)) {
      stderr("Broken pidfile found - Removing it.");
      remove(path);
    } else if (pid === 0 || pid === process.pid) {
      remove(path);
    } else if (!alive(pid)) {
      stderr("Stale pidfile exists - Removing it.");
      remove(path);
    } else {
      stderr(`ERROR: Pidfile (${path}) already exists.\nSeems we're already running? (pid: ${pid})`);
      process.exit(EX_CANTCREAT);
    }
  }
  const fd = openSync(path, "wx", 0o644);
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  const release = (): void => {
    if (readPid(path) === process.pid) remove(path);
  };
  process.on("exit", release);
  return release;
}
