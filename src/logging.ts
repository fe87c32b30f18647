/**
 * Logs in Celery's format, `[2026-11-22 01:42:28,748: INFO/MainProcess] message` (the default),
 * or one JSON object per line (`--log-format json`), or handed to the user's logger (pino,
 * winston, or anything with their level methods).
 */
import { redactText } from "./redact";
import { taskLogFields } from "./telemetry/log-fields";

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

/** How lines are written: Celery's text lines, or JSON lines. */
export type LogFormat = "celery" | "json";

/** The task a log line is about (JSON lines carry them as task_id and task_name). */
export interface LogFields {
  taskId?: string;
  taskName?: string;
}

/**
 * A logger of the user's (`new Celery(main, { logger })`): any object with pino's or winston's
 * level methods. celeriac calls the method of each line's level with the line's text (secrets
 * masked), and with the task's fields when the line is about a task; CRITICAL goes to `fatal`
 * when there is one, else `error`.
 */
export interface ExternalLogger {
  debug(message: string, ...rest: never[]): unknown;
  info(message: string, ...rest: never[]): unknown;
  warn(message: string, ...rest: never[]): unknown;
  error(message: string, ...rest: never[]): unknown;
  fatal?(message: string, ...rest: never[]): unknown;
}

/** Options of `new Logger`. */
export interface LoggerOptions {
  /** Celery's text lines (default) or JSON lines. */
  format?: LogFormat;
  /** Hand every line to this logger instead of writing it. */
  sink?: ExternalLogger | null;
}

/** A small logger; `write` can be replaced (tests capture lines). */
export class Logger {
  level: LogLevel;
  write: (line: string) => void;
  /** Celery's text lines or JSON lines. */
  format: LogFormat;
  /** The user's logger, given every line instead of `write`. */
  sink: ExternalLogger | null;
  constructor(level: LogLevel = "INFO", write: (line: string) => void = writeStderrLine, options: LoggerOptions = {}) {
    this.level = level;
    this.write = write;
    this.format = options.format ?? "celery";
    this.sink = options.sink ?? null;
  }
  /** True when a message at `level` would be written. */
  enabled(level: LogLevel): boolean {
    return ORDER[level] >= ORDER[this.level];
  }
  /**
   * Writes one line from `process` (MainProcess, ForkPoolWorker-1, Beat, ...); URL passwords in
   * it are masked (`scheme://user:**@`), whatever produced it. `fields` name the task it is about.
   */
  log(level: LogLevel, message: string, process = "MainProcess", fields: LogFields = {}): void {
    if (!this.enabled(level)) return;
    if (this.sink) {
      toSink(this.sink, level, redactText(message), fields);
      return;
    }
    const now = new Date();
    if (this.format === "json") {
      const record: Record<string, string> = { time: now.toISOString(), level, process, message };
      // the task running here (and its trace, when tracing) unless the line names its task itself
      const here = taskLogFields();
      const taskId = fields.taskId ?? here.task_id;
      const taskName = fields.taskName ?? here.task_name;
      if (taskId !== undefined) record.task_id = taskId;
      if (taskName !== undefined) record.task_name = taskName;
      if (here.trace_id !== undefined && (fields.taskId === undefined || fields.taskId === here.task_id)) {
        record.trace_id = here.trace_id;
        record.span_id = here.span_id ?? "";
      }
      this.write(redactText(JSON.stringify(record)));
      return;
    }
    this.write(redactText(`[${timestamp(now)}: ${level}/${process}] ${message}`));
  }
  debug(message: string, fields?: LogFields): void { this.log("DEBUG", message, undefined, fields); }
  info(message: string, fields?: LogFields): void { this.log("INFO", message, undefined, fields); }
  warn(message: string, fields?: LogFields): void { this.log("WARNING", message, undefined, fields); }
  error(message: string, fields?: LogFields): void { this.log("ERROR", message, undefined, fields); }
}

function toSink(sink: ExternalLogger, level: LogLevel, message: string, fields: LogFields): void {
  const name = level === "DEBUG" ? "debug" : level === "INFO" ? "info" : level === "WARNING" ? "warn" : level === "CRITICAL" && sink.fatal ? "fatal" : "error";
  const target = sink as unknown as Record<typeof name, (message: string, meta?: object) => unknown>;
  // winston takes (message, meta), pino (meta, message) or (message): a string first suits both; the task's fields go as winston's meta.
  if (fields.taskId === undefined) target[name](message);
  else target[name](message, { task_id: fields.taskId, task_name: fields.taskName });
}

/** Celery's task logger format (`worker_task_log_format`): `%(task_name)s[%(task_id)s]: %(message)s`. */
export function taskLogLine(taskName: string, taskId: string, message: string): string {
  return `${taskName}[${taskId}]: ${message}`;
}

/** The level methods of a task's `ctx.logger` (as task-types.ts's `TaskLogger`). */
export type TaskLineWriter = Record<"debug" | "info" | "warning" | "warn" | "error" | "critical", (message: string) => void>;

/**
 * `ctx.logger` of a run outside a worker (an eager run, a direct `task.run()` call): Celery's task
 * format through `logger` (by default a Logger writing to stderr at INFO).
 */
export function taskLineWriter(taskName: string, taskId: string, logger: Logger = new Logger()): TaskLineWriter {
  const line = (level: LogLevel) => (message: string): void => logger.log(level, taskLogLine(taskName, taskId, String(message)), "MainProcess", { taskId, taskName });
  return { debug: line("DEBUG"), info: line("INFO"), warning: line("WARNING"), warn: line("WARNING"), error: line("ERROR"), critical: line("CRITICAL") };
}

/** Parse a CLI level name (`info`, `warning`, ...). */
export function parseLogLevel(name: string | undefined): LogLevel {
  const upper = (name ?? "INFO").toUpperCase();
  if (upper === "WARN") return "WARNING";
  if (upper === "FATAL") return "CRITICAL";
  if (upper in ORDER) return upper as LogLevel;
  throw new Error(`unknown log level: ${name}`);
}

/** Parse `--log-format` (`celery`, the default, or `json`). */
export function parseLogFormat(name: string | undefined): LogFormat {
  if (name === undefined || name === "celery" || name === "json") return name ?? "celery";
  throw new Error(`unknown log format: ${name} (use celery or json)`);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

function timestamp(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())},${pad(d.getMilliseconds(), 3)}`;
}
