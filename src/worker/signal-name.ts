/** Signal names and numbers as Celery's revoke(terminate=True, signal=...) takes them (celery.platforms Signals.signum). */
import { constants as osConstants } from "node:os";

/** billiard's soft time limit signal: revoke(terminate, signal="SIGUSR1") gives the task its soft limit. */
export const SOFT_LIMIT_SIGNAL = "SIGUSR1";

/**
 * The signal asked for: a number (9, "9"), or a name with or without "SIG" ("KILL", "SIGKILL");
 * none is SIGTERM (Celery's TERM_SIGNAME). Celery also refuses lowercase names; celeriac reads
 * them uppercased. An unknown name or number throws (Celery: AttributeError), so nothing is
 * terminated with it.
 */
export function signalName(signal: string | number | null | undefined): NodeJS.Signals {
  if (signal === undefined || signal === null || signal === "") return "SIGTERM";
  const text = String(signal).trim().toUpperCase();
  const signals = osConstants.signals as Record<string, number>;
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    const name = Object.keys(signals).find((k) => signals[k] === n);
    if (name) return name as NodeJS.Signals;
  } else {
    const name = text.startsWith("SIG") ? text : `SIG${text}`;
    if (Object.prototype.hasOwnProperty.call(signals, name)) return name as NodeJS.Signals;
  }
  throw new TypeError(`unknown signal ${JSON.stringify(signal)}`);
}

/** The number of a signal name (Celery logs and sends signals as numbers: "Terminating <id> (15)"). */
export function signalNumber(name: NodeJS.Signals): number {
  return osConstants.signals[name];
}
