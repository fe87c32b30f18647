/**
 * Everything around running a handler: STARTED, SUCCESS, FAILURE, RETRY, custom states, time
 * limits, termination, lost threads and child processes, result_extended fields, signals, logging. Never throws: a
 * failure to store is logged.
 */
import type { AppContext } from "../app-context";
import type { ResultBackend } from "../backend/types";
import { ReplaceRequest } from "../client/task";
import { runAsTask } from "../current-task";
import { setLongTimeout } from "./long-timer";
import { strayErrorText } from "./crash-guard";
import type { LongTimer } from "./long-timer";
import type { CurrentTask, StrayOrigin } from "../current-task";
import type { RegisteredTask, TaskContext } from "../task-types";
import type { SignatureInput } from "../protocol/signature";
import { taskLogLine } from "../logging";
import type { Logger, LogLevel } from "../logging";
import type { WireValue } from "../protocol/message";
import type { TaskState, ResultTuple } from "../protocol/result-meta";
import { buildResultMeta } from "../protocol/result-meta";
import { encodeError, errorToExceptionInfo, excRepr, formatTraceback, taskRevoked, timeLimitExceeded } from "../protocol/exceptions";
import type { ExceptionInfo } from "../protocol/result-meta";
import { logText, pyRepr, PyTuple, safeRepr } from "../protocol/repr";
import { EncodeError } from "../protocol/serializers";
import { MaxRetriesExceededError, taskTraceback, UnencodableResult } from "./errors";
import type { WorkerEventName, WorkerSignals } from "../signals";
import type { Execution, ExecutionPool, HandlerOutcome, JobHooks } from "./pools/types";
import { handlerArguments } from "./request";
import { hasFollowUps, isChordPart, WorkerCanvas } from "./canvas";
import { ackPolicy } from "./request";
import type { Request, RunStop, TimeLimits, TraceOutcome } from "./request";
import { autoretryFor, RetryRequest, retriesExhausted, retryApplyOptions, retryCountdown, retryText } from "./retry";
import { taskLabel } from "./task-label";
import { signalNumber, SOFT_LIMIT_SIGNAL } from "./signal-name";
import { inSpanContext, startRunSpan } from "../telemetry/spans";
import type { RunSpan } from "../telemetry/spans";

export type { TraceOutcome };

/** Why a run was stopped: its hard time limit, or from outside (terminate, cold shutdown). */
type Stop = { kind: "hard"; seconds: number } | RunStop;

/** Celery's `Task.resultrepr_maxsize`: the logged result repr is cut near this length. */
const CELERY_RESULTREPR_MAXSIZE = 1024;

/** Runs requests for one worker. */
export class Tracer {
  constructor(
    private readonly app: AppContext,
    private readonly backend: ResultBackend,
    private readonly logger: Logger,
    private readonly hostname: string,
    private readonly signals: WorkerSignals[] = [],
  ) {}

  /** The `run/<task>` spans of the runs in progress, when tracing (telemetry/spans.ts). */
  private readonly spans = new WeakMap<Request, RunSpan>();

  /** Callbacks, chain steps, chord joins and errbacks (docs/protocol.md §3.6). */
  private canvasRunner: WorkerCanvas | null = null;
  private get canvas(): WorkerCanvas {
    return (this.canvasRunner ??= new WorkerCanvas(this.app, this.backend, this.logger));
  }

  private emit: WorkerSignals["emit"] = (event, payload) => {
    for (const s of this.signals) s.emit(event, payload, this.logger);
  };

  /** True when `event` has a listener: the payloads of the per-task signals are built only then. */
  private heard(event: WorkerEventName): boolean {
    for (const s of this.signals) if (s.listenerCount(event) > 0) return true;
    return false;
  }

  /** Celery's `ignore_result`: task option, call header, or task_ignore_result. */
  storesResult(task: RegisteredTask | undefined, request: Request): boolean {
    return !(request.task.ignoreResult || (task?.options.ignoreResult ?? this.app.conf.taskIgnoreResult));
  }

  /** Celery's `Request.store_errors`: not ignored, or store_errors_even_if_ignored. */
  storesErrors(task: RegisteredTask | undefined, request: Request): boolean {
    return this.storesResult(task, request) || (task?.options.storeErrorsEvenIfIgnored ?? this.app.conf.taskStoreErrorsEvenIfIgnored);
  }

  /**
   * Store a state document for the request (with the result_extended fields when enabled). Never
   * leaves the task PENDING silently: when the state cannot be encoded (a function, a symbol, a
   * cycle, nesting too deep) FAILURE EncodeError is stored instead, as Celery does; when the
   * backend refuses the write, FAILURE with the backend's error is tried once.
   */
  store(request: Request, status: TaskState, result: WireValue, traceback: string | null = null, children: ResultTuple[] = [], fallback = false): Promise<void> {
    // Not an async function: the backend's promise is returned with the fallback attached (one
    // promise per store instead of two; with async_hooks on, every promise costs).
    let stored: Promise<void>;
    try {
      stored = this.sendState(request, status, result, traceback, children);
    } catch (err) {
      return this.storeFailed(request, status, err, fallback);
    }
    return stored.then(undefined, (err: unknown) => this.storeFailed(request, status, err, fallback));
  }

  /**
   * The backend's write of a state document (with the result_extended fields when enabled);
   * throws EncodeError when the state cannot be encoded. `store` is the caller that falls back.
   */
  private sendState(request: Request, status: TaskState, result: WireValue, traceback: string | null, children: ResultTuple[]): Promise<void> {
    const t = request.task;
    if (typeof result === "function" || typeof result === "symbol") {
      throw new EncodeError(`Object of type ${typeof result} is not JSON serializable`);
    }
    if ((result as unknown) instanceof UnencodableResult) throw new EncodeError((result as unknown as UnencodableResult).message);
    const meta = buildResultMeta({
      taskId: t.id,
      status,
      result,
      traceback,
      children,
      groupId: t.group ?? undefined,
      parentId: t.parentId ?? undefined,
      extended: this.app.conf.resultExtended
        ? { name: t.task, args: t.args, kwargs: t.kwargs, worker: this.hostname, retries: t.retries, queue: request.delivery.routingKey }
        : null,
    });
    return this.backend.store(t.id, meta, { replyTo: t.replyTo, correlationId: t.correlationId });
  }

  /** A store that failed: logged, and FAILURE stored instead once (`fallback`: this was that FAILURE). */
  private async storeFailed(request: Request, status: TaskState, err: unknown, fallback: boolean): Promise<void> {
    const t = request.task;
    const message = err instanceof Error ? err.message : String(err);
    if (fallback) {
      this.logger.error(`Failed to store ${status} for task ${taskLabel(t)} (${message}): nothing is stored, the task stays PENDING`);
      return;
    }
    this.logger.error(`Failed to store ${status} for task ${taskLabel(t)}: ${message}; storing FAILURE instead`);
    const info = err instanceof EncodeError ? encodeError(message) : errorToExceptionInfo(err);
    await this.store(request, "FAILURE", info, formatTraceback(err), [], true);
  }

  /** Store a FAILURE/REVOKED made by the worker itself (NotRegistered, expired, ...). */
  async storeException(request: Request, status: "FAILURE" | "REVOKED", info: ExceptionInfo): Promise<void> {
    await this.store(request, status, info, null);
  }

  /**
   * A task skipped because it was revoked or expired (Celery `_announce_revoked`): store REVOKED
   * when errors are stored, emit taskRevoked. The caller acks.
   */
  async revoked(task: RegisteredTask | undefined, request: Request, reason: "revoked" | "expired" | "terminated", signal: string | null = null): Promise<void> {
    if (this.storesErrors(task, request)) await this.storeException(request, "REVOKED", taskRevoked(reason));
    // Celery's mark_as_revoked: a revoked chord member still completes its part (failing the body).
    await this.canvas.chordPartReturn(request, "REVOKED", taskRevoked(reason));
    this.emit("taskRevoked", {
      taskId: request.task.id,
      task: request.task.task,
      request: request.info,
      terminated: reason === "terminated",
      expired: reason === "expired",
      signal,
    });
  }

  /**
   * Run the handler on `pool` within `limits` (the request's effective time limits) and record the
   * outcome. Never rejects: an error in the tracing itself (a value too deep to log, a throwing
   * signal handler) is stored as the task's FAILURE. `handlerDone` is called once the handler's
   * run is over (it returned, or was stopped), before its outcome is stored: its pool slot (a
   * prefork child) is free for the next request by then. A handler that raised keeps its slot
   * until its retry, replacement or failure is recorded.
   */
  async run(task: RegisteredTask, request: Request, pool: ExecutionPool, limits: TimeLimits, handlerDone: () => void = () => undefined): Promise<TraceOutcome> {
    // The trace is this function's body (not a call awaited here): one promise less per task.
    try {
      const t = request.task;
      const tracksStarted = this.storesResult(task, request) && (task.options.trackStarted ?? this.app.conf.taskTrackStarted);
      // As Python's instrumentation, the span starts with task_prerun and ends with task_postrun.
      const span = startRunSpan(request);
      if (span) this.spans.set(request, span);
      if (this.heard("taskPrerun")) this.emit("taskPrerun", { taskId: t.id, task: t.task, request: request.info, args: t.args, kwargs: t.kwargs });
      const started = performance.now();
      let args: unknown[];
      try {
        args = handlerArguments(t.args, t.kwargs, task);
      } catch (err) {
        if (tracksStarted) await this.storeStarted(request, process.pid);
        return this.finish(task, request, await this.fail(task, request, err), null);
      }
      const current = new RunningTask(this, request, this.logger, span);
      // STARTED carries the pid of the process running the handler (Celery's: the pool child's), known
      // once the pool has given the job to one; states the handler sets are stored after it.
      let markStored = (): void => undefined;
      if (tracksStarted) current.startedStored = new Promise<void>((resolve) => (markStored = resolve));
      const handlerTask = pool.kind === "eventloop" && task.options.bind ? withReplace(task) : task;
      // Only a handler on the event loop runs here; a prefork child makes the job its own current
      // task. Never entering the context keeps async_hooks' promise hooks off in this process.
      const start = (): Execution => pool.start(handlerTask, request, args, current);
      const execution = pool.kind === "eventloop" ? runAsTask(current, span ? () => inSpanContext(span.context, start) : start) : start();
      request.workerPid = execution.pid ?? process.pid;
      if (tracksStarted) {
        await this.storeStarted(request, request.workerPid);
        markStored();
      }
      let first: HandlerOutcome | Stop;
      if (execution.outcome) {
        // The handler returned (or threw) before start() returned: nothing to wait for or limit.
        first = execution.outcome;
        current.done = true;
      } else {
        first = await this.outcomeOrStop(task, execution, request, limits, current);
      }
      // Once the run is stopped or over, the concurrency slot goes to the next request (handlerDone)
      // while this one's outcome is stored; a raised error keeps it until recorded (below).
      if (first.kind === "abandon" || first.kind === "hard") execution.kill();
      if (first.kind === "terminated") {
        const { signal } = first;
        await this.terminated(task, request, signal, () => execution.kill(signal));
      }
      if (first.kind !== "throw") handlerDone();
      if (first.kind === "abandon") {
        this.endSpan(request, null);
        return "ABANDONED";
      }
      if (first.kind === "terminated") return this.finish(task, request, "REVOKED", null);
      if (first.kind === "hard") return this.finish(task, request, await this.timeLimit(task, request, first.seconds), null);
      if (first.kind === "lost") return this.finish(task, request, await this.lost(task, request, first.error), null);
      if (first.kind === "return") {
        const result = (first.value === undefined ? null : first.value) as WireValue;
        // Spec §3.6: callbacks and the next chain step go out before the result is stored.
        const sent = hasFollowUps(t) ? await this.canvas.afterSuccess(request, result) : [];
        const children = [...current.children, ...(first.children ?? []), ...sent];
        if (this.storesResult(task, request)) {
          // store() inlined: the backend's promise awaited as it is (one promise less per task).
          try {
            await this.sendState(request, "SUCCESS", result, null, children);
          } catch (err) {
            await this.storeFailed(request, "SUCCESS", err, false);
          }
        }
        if (isChordPart(t)) await this.canvas.chordPartReturn(request, "SUCCESS", result);
        // Celery's T: measured after the result is stored; logged and sent in task-succeeded alike.
        const runtime = (performance.now() - started) / 1000;
        if (this.logger.enabled("INFO")) this.logger.info(`Task ${taskLabel(t)} succeeded in ${runtime}s: ${safeRepr(result, task.options.resultReprMaxsize ?? CELERY_RESULTREPR_MAXSIZE)}`, { taskId: t.id, taskName: t.task });
        if (this.heard("taskSuccess")) this.emit("taskSuccess", { taskId: t.id, task: t.task, request: request.info, result, runtime });
        return this.finish(task, request, "SUCCESS", result);
      }
      // A raised error keeps its slot until it is recorded: a retry (or replacement) published here
      // is part of the run, as Celery's task.retry() sends from the task body, so it never starts
      // before the run it follows has stored RETRY and sent its signals.
      try {
        const err = first.error;
        if (err instanceof ReplaceRequest) return this.finish(task, request, await this.replaced(task, request, err), null);
        const retry = err instanceof RetryRequest ? err : (() => {
          const auto = autoretryFor(err, request, task.options);
          return auto ? new RetryRequest(auto) : null;
        })();
        if (retry) return this.finish(task, request, await this.retry(task, request, retry), null);
        return this.finish(task, request, await this.fail(task, request, err), null);
      } finally {
        handlerDone();
      }
    } catch (err) {
      return this.traceFailed(task, request, err);
    }
  }

  /** An error in the tracing itself: logged, and stored as the task's FAILURE. */
  private async traceFailed(task: RegisteredTask, request: Request, err: unknown): Promise<TraceOutcome> {
    this.logger.error(`Task ${taskLabel(request.task)} could not be traced: ${strayErrorText(err)}`);
    try {
      return this.finish(task, request, await this.fail(task, request, err), null);
    } catch {
      return "FAILURE";
    }
  }

  /**
   * Wait for an asynchronous handler's outcome, or what stops it first (hard limit, terminate, cold
   * shutdown). A soft terminate (SIGUSR1) is recorded and the wait goes on.
   */
  private async outcomeOrStop(task: RegisteredTask, execution: Execution, request: Request, limits: TimeLimits, current: RunningTask): Promise<HandlerOutcome | Stop> {
    const { hard, soft } = limits;
    const timers: LongTimer[] = [];
    const done = execution.done.then((outcome) => {
      current.done = true;
      return outcome;
    });
    let stop: (s: Stop) => void = () => undefined;
    const next = (): Promise<HandlerOutcome | Stop> =>
      new Promise<HandlerOutcome | Stop>((resolve) => {
        stop = resolve;
        void done.then(resolve);
      });
    let pending = next();
    const stopListening = request.whileRunning((s) => stop(s));
    if (hard) timers.push(setLongTimeout(() => stop({ kind: "hard", seconds: hard }), hard * 1000));
    if (soft && (!hard || soft < hard)) {
      timers.push(
        setLongTimeout(() => {
          this.logger.warn(`Soft time limit (${soft}s) exceeded for ${taskLabel(request.task)}`);
          execution.softLimit();
        }, soft * 1000),
      );
    }
    try {
      for (;;) {
        const first = await pending;
        if (first.kind !== "terminated" || first.signal !== SOFT_LIMIT_SIGNAL) return first;
        pending = next();
        await this.terminated(task, request, first.signal, () => execution.softLimit());
      }
    } finally {
      for (const timer of timers) timer.clear();
      stopListening();
    }
  }

  /** STARTED with the pid of the process running the handler (Celery's track_started meta). */
  private storeStarted(request: Request, pid: number): Promise<void> {
    return this.store(request, "STARTED", { pid, hostname: this.hostname });
  }

  /**
   * revoke(terminate) of a running task, as Celery's Request.terminate: logged with the signal's
   * number, `stopRun` stops it (the signal goes to the run), REVOKED "terminated" is stored and
   * the message acked at once (Celery's _announce_revoked). A soft terminate (SIGUSR1) lets the
   * run go on: its own outcome is stored after REVOKED, as Celery's child stores it.
   */
  private async terminated(task: RegisteredTask, request: Request, signal: NodeJS.Signals, stopRun: () => void): Promise<void> {
    this.logger.info(`Terminating ${logText(request.task.id)} (${signalNumber(signal)})`);
    stopRun();
    await this.revoked(task, request, "terminated", signal);
    await request.settle("ack");
  }

  /** `ctx.replace(sig)`: send the replacement; the original stores nothing (Celery raises Ignore). */
  private async replaced(task: RegisteredTask, request: Request, rr: ReplaceRequest): Promise<TraceOutcome> {
    const t = request.task;
    try {
      await this.canvas.replace(request, rr.signature);
    } catch (err) {
      return this.fail(task, request, err);
    }
    this.logger.info(`Task ${taskLabel(t)} replaced by a new task`);
    return "SUCCESS";
  }

  private finish(task: RegisteredTask, request: Request, outcome: TraceOutcome, retval: unknown): TraceOutcome {
    const span = this.spans.has(request);
    if (!span && !this.heard("taskPostrun")) return outcome;
    const state = outcome === "TIMEOUT" || outcome === "LOST" ? "FAILURE" : outcome === "REQUEUE" ? "PENDING" : outcome;
    this.emit("taskPostrun", { taskId: request.task.id, task: request.task.task, request: request.info, retval, state });
    this.endSpan(request, state);
    return outcome;
  }

  /** End the run's span (after the task_postrun listeners, as Python's receiver runs among them). */
  private endSpan(request: Request, state: string | null): void {
    const span = this.spans.get(request);
    if (!span) return;
    this.spans.delete(request);
    span.end(state);
  }

  private async fail(task: RegisteredTask, request: Request, err: unknown, traceback: string | null = taskTraceback(err)): Promise<"FAILURE"> {
    const t = request.task;
    const info = errorToExceptionInfo(err);
    if (this.storesErrors(task, request)) await this.store(request, "FAILURE", info, traceback);
    await this.canvas.afterFailure(request, info, traceback);
    this.logger.error(`Task ${taskLabel(t)} raised unexpected: ${excRepr(info)}${traceback ? "\n" + traceback.replace(/\n$/, "") : ""}`, { taskId: t.id, taskName: t.task });
    this.spans.get(request)?.fail(err, info);
    this.emit("taskFailure", { taskId: t.id, task: t.task, request: request.info, exception: err, excInfo: info, traceback });
    return "FAILURE";
  }

  /** Hard limit: FAILURE TimeLimitExceeded([seconds]) with a null traceback (the process was killed). */
  private async timeLimit(task: RegisteredTask, request: Request, seconds: number): Promise<"TIMEOUT"> {
    const t = request.task;
    this.logger.error(`Hard time limit (${seconds}s) exceeded for ${taskLabel(t)}`);
    const info = timeLimitExceeded(seconds);
    if (this.storesErrors(task, request)) await this.storeException(request, "FAILURE", info);
    await this.canvas.afterFailure(request, info, null);
    this.spans.get(request)?.fail(info, info);
    this.emit("taskFailure", { taskId: t.id, task: t.task, request: request.info, exception: info, excInfo: info, traceback: null });
    return "TIMEOUT";
  }

  /** The thread or child process died: requeue (acksLate + rejectOnWorkerLost) or FAILURE WorkerLostError. */
  private async lost(task: RegisteredTask, request: Request, err: Error): Promise<"LOST" | "REQUEUE"> {
    const policy = ackPolicy(task.options, this.app.conf);
    if (policy.acksLate && policy.rejectOnWorkerLost) {
      this.logger.error(`Task ${taskLabel(request.task)}: ${err.message} The message is requeued (reject_on_worker_lost).`);
      return "REQUEUE";
    }
    await this.fail(task, request, err);
    return "LOST";
  }

  private async retry(task: RegisteredTask, request: Request, retry: RetryRequest): Promise<TraceOutcome> {
    const t = request.task;
    const exc = retry.options.exc;
    const hasExc = exc !== undefined && exc !== null;
    if (retriesExhausted(request, retry.options, task.options)) {
      if (hasExc) return this.fail(task, request, exc);
      const sigArgs = pyRepr(new PyTuple(retry.options.args ?? t.args));
      const sigKwargs = pyRepr(retry.options.kwargs ?? t.kwargs);
      return this.fail(task, request, new MaxRetriesExceededError(`Can't retry ${t.task}[${t.id}] args:${sigArgs} kwargs:${sigKwargs}`));
    }
    const options = retryApplyOptions(request, retry.options, task.options);
    // Python's str(Retry): "Retry in <countdown>s: <repr(exc)>" or "Retry at <eta>".
    const text = retryText(exc, retry.options.eta ?? retryCountdown(retry.options, task.options) ?? null);
    // RETRY is stored before the retry is published (Celery publishes first): the retried run may
    // start on another slot or worker at once and must never have its outcome overwritten by RETRY.
    // A publish that fails then stores FAILURE over it.
    if (this.storesErrors(task, request)) {
      const result = hasExc ? errorToExceptionInfo(exc) : null;
      await this.store(request, "RETRY", result, retryTraceback(retry, text), [[[t.id, null], null]]);
    }
    try {
      await this.app.sendTask(t.task, retry.options.args ?? t.args, retry.options.kwargs ?? t.kwargs, options);
    } catch (err) {
      this.logger.error(`Task ${taskLabel(t)} could not be retried: ${(err as Error).message}`);
      return this.fail(task, request, err);
    }
    this.logger.info(`Task ${taskLabel(t)} retry: ${text}`, { taskId: t.id, taskName: t.task });
    this.spans.get(request)?.retry(text);
    this.emit("taskRetry", { taskId: t.id, task: t.task, request: request.info, reason: text, exception: exc });
    return "RETRY";
  }
}

/**
 * One run: the current task of a handler on the event loop (what tasks sent from it name as
 * parent), and what its handler may ask of the worker (JobHooks).
 */
class RunningTask implements CurrentTask, JobHooks {
  readonly id: string;
  readonly name: string;
  readonly rootId: string;
  readonly priority: number | null;
  readonly children: ResultTuple[] = [];
  done = false;
  /** Set while STARTED (track_started) is being stored: states the handler sets wait for it. */
  startedStored: Promise<void> | null = null;
  readonly traceContext?: object;

  constructor(
    private readonly tracer: Tracer,
    private readonly request: Request,
    private readonly logger: Logger,
    private readonly span: RunSpan | null,
  ) {
    const t = request.task;
    this.id = t.id;
    this.name = t.task;
    this.rootId = t.rootId || t.id;
    this.priority = t.priority;
    if (span) this.traceContext = span.context;
  }

  /** The run span's context as headers, for a prefork child (made when the pool asks). */
  get traceHeaders(): Record<string, string> | undefined {
    return this.span?.headers();
  }

  onStrayError(error: unknown, origin: StrayOrigin): void {
    this.logger.error(`Task ${taskLabel(this.request.task)} left an error unhandled (${origin}); the worker carries on:\n${strayErrorText(error)}`);
  }

  /** A `ctx.logger` line: Celery's task format, `%(task_name)s[%(task_id)s]: %(message)s`. */
  log(level: LogLevel, message: string, process?: string): void {
    const t = this.request.task;
    this.logger.log(level, taskLogLine(t.task, t.id, message), process, { taskId: t.id, taskName: t.task });
  }

  /** Celery's update_state: stores whatever ignore_result says. */
  updateState(state: string, meta: WireValue): Promise<void> {
    if (this.startedStored) return this.startedStored.then(() => this.tracer.store(this.request, state, meta));
    return this.tracer.store(this.request, state, meta);
  }
}

/** The task with a handler whose context has `replace` (bound handlers on the event-loop pool). */
function withReplace(task: RegisteredTask): RegisteredTask {
  const handler = (ctx: TaskContext, ...args: unknown[]): unknown => {
    const replace = (sig: SignatureInput): never => {
      throw new ReplaceRequest(sig);
    };
    return (task.handler as (...a: unknown[]) => unknown)({ ...ctx, replace }, ...args);
  };
  return Object.create(task, { handler: { value: handler } }) as RegisteredTask;
}

/** Traceback text of the Retry "exception" (what Python stores with RETRY). */
function retryTraceback(retry: RetryRequest, text: string): string {
  const tb = taskTraceback(retry);
  const lines = tb.split("\n");
  // Replace the last line (the exception line) with Celery's qualified Retry line.
  const end = lines[lines.length - 1] === "" ? lines.length - 2 : lines.length - 1;
  lines[end] = `celery.exceptions.Retry: ${text}`;
  return lines.join("\n");
}
