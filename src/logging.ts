/** Logs in Celery's format: `[2026-11-22 01:42:28,748: INFO/MainProcess] message`. */
import { redactText } from "./redact";

/** Log levels, Celery's names. */
export type LogLevel = "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL";
const ORDER: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 };

let stderrState: "unwatched" | "open" | "gone" = "unwatched";

/**
 * Write `line` to stderr. Once stderr is gone (its reader closed the pipe: EPIPE), lines are
 * dropped: a failed write never becomes an uncaught exception that the crash guard would log to
 * stderr again, in a loop.
 */
export function writeStderrLine(line: string): void {
  if (stderrState === "gone") return;
  if (stderrState === "unwatched") {
    stderrState = "open";
    process.stderr.on("error", () => {
      stderrState = "gone";
    });
  }
  process.stderr.write(line + "\n");
}

/** A small logger; `write` can be replaced (tests capture lines). */
export class Logger {
  level: LogLevel;
  write: (line: string) => void;
  constructor(level: LogLevel = "INFO", write: (line: string) => void = writeStderrLine) {
    this.level = level;
    this.write = write;
  }
  /** True when a message at `level` would be written. */
  enabled(level: LogLevel): boolean {
    return ORDER[level] >= ORDER[this.level];
  }
  /** Writes one line; URL passwords in it are masked (`scheme://user:**@`), whatever produced it. */
  log(level: LogLevel, message: string, process = "MainProcess"): void {
    if (!this.enabled(level)) return;
    this.write(redactText(`[${timestamp(new Date())}: ${level}/${process}] ${message}`));
  }
  debug(message: string): void { this.log("DEBUG", message); }
  info(message: string): void { this.log("INFO", message); }
  warn(message: string): void { this.log("WARNING", message); }
  error(message: string): void { this.log("ERROR", message); }
}

/** Parse a CLI level name (`info`, `warning`, ...). */
export function parseLogLevel(name: string | undefined): LogLevel {
  const upper = (name ?? "INFO").toUpperCase();
  if (upper === "WARN") return "WARNING";
  if (upper in ORDER) return upper as LogLevel;
  throw new Error(`unknown log level: ${name}`);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

function timestamp(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())},${pad(d.getMilliseconds(), 3)}`;
}
