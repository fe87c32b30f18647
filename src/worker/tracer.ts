/**
 * Everything around running a handler: STARTED, SUCCESS, FAILURE, RETRY, custom states,
 * result_extended fields, logging. Never throws: a failure to store is logged.
 */
import type { Celery } from "../app";
import type { ResultBackend } from "../backend/types";
import type { Task, TaskContext } from "../client/task";
import type { Logger } from "../logging";
import type { WireValue } from "../protocol/message";
import type { TaskState, ResultTuple } from "../protocol/result-meta";
import { buildResultMeta } from "../protocol/result-meta";
import { errorToExceptionInfo, formatTraceback, excRepr, maxRetriesExceeded } from "../protocol/exceptions";
import type { ExceptionInfo } from "../protocol/result-meta";
import { pyRepr } from "../protocol/repr";
import { handlerArguments } from "./request";
import type { Request } from "./request";
import { RetryRequest, retriesExhausted, retryApplyOptions } from "./retry";

/** What a traced run ended as. */
export type TraceOutcome = "SUCCESS" | "FAILURE" | "RETRY";

/** Runs requests for one worker. */
export class Tracer {
  constructor(
    private readonly app: Celery,
    private readonly backend: ResultBackend,
    private readonly logger: Logger,
    private readonly hostname: string,
  ) {}

  private storesResult(task: Task, request: Request): boolean {
    return !(request.task.ignoreResult || (task.options.ignoreResult ?? this.app.conf.taskIgnoreResult));
  }

  /** Store a state document for the request (with the result_extended fields when enabled). */
  async store(request: Request, status: TaskState, result: WireValue, traceback: string | null = null, children: ResultTuple[] = []): Promise<void> {
    const t = request.task;
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
    try {
      await this.backend.store(t.id, meta);
    } catch (err) {
      this.logger.error(`Failed to store ${status} for task ${t.name}[${t.id}]: ${(err as Error).message}`);
    }
  }

  /** Store a FAILURE/REVOKED made by the worker itself (NotRegistered, expired, ...). */
  async storeException(request: Request, status: "FAILURE" | "REVOKED", info: ExceptionInfo): Promise<void> {
    await this.store(request, status, info as unknown as WireValue, null);
  }

  private context(task: Task, request: Request, signal: AbortSignal): TaskContext {
    return {
      request: request.info,
      signal,
      retry: (options = {}) => {
        throw new RetryRequest(options);
      },
      updateState: async (state, meta = null) => {
        if (this.storesResult(task, request)) await this.store(request, state, meta);
      },
    };
  }

  /** Run the handler and record the outcome. */
  async run(task: Task, request: Request): Promise<TraceOutcome> {
    const t = request.task;
    const stores = this.storesResult(task, request);
    if (stores && (task.options.trackStarted ?? this.app.conf.taskTrackStarted)) {
      await this.store(request, "STARTED", { pid: process.pid, hostname: this.hostname });
    }
    const abort = new AbortController();
    const started = process.hrtime.bigint();
    try {
      const args = handlerArguments(t.args, t.kwargs, task.options.params);
      const callArgs = task.options.bind ? [this.context(task, request, abort.signal), ...args] : args;
      const value = await (task.handler as (...a: unknown[]) => unknown)(...callArgs);
      const runtime = Number(process.hrtime.bigint() - started) / 1e9;
      const result = (value === undefined ? null : value) as WireValue;
      if (stores) await this.store(request, "SUCCESS", result);
      if (this.logger.enabled("INFO")) this.logger.info(`Task ${t.name}[${t.id}] succeeded in ${runtime}s: ${pyRepr(result)}`);
      return "SUCCESS";
    } catch (err) {
      if (err instanceof RetryRequest) return this.retry(task, request, err);
      await this.fail(task, request, err);
      return "FAILURE";
    }
  }

  private async fail(task: Task, request: Request, err: unknown): Promise<void> {
    const t = request.task;
    const info = errorToExceptionInfo(err);
    const traceback = formatTraceback(err);
    if (this.storesResult(task, request) || (this.app.conf.taskStoreErrorsEvenIfIgnored)) {
      await this.store(request, "FAILURE", info as unknown as WireValue, traceback);
    }
    this.logger.error(`Task ${t.name}[${t.id}] raised unexpected: ${excRepr(info)}\n${traceback}`);
  }

  private async retry(task: Task, request: Request, retry: RetryRequest): Promise<TraceOutcome> {
    const t = request.task;
    const exc = retry.options.exc;
    if (retriesExhausted(request, retry.options, task.options)) {
      const failure = exc ?? maxRetriesExceeded(`Can't retry ${t.task}[${t.id}] args:${pyRepr(t.args)} kwargs:${pyRepr(t.kwargs)}`);
      await this.fail(task, request, failure);
      return "FAILURE";
    }
    const options = retryApplyOptions(request, retry.options, task.options);
    try {
      await this.app.sendTask(t.task, retry.options.args ?? t.args, retry.options.kwargs ?? t.kwargs, options);
    } catch (err) {
      this.logger.error(`Task ${t.name}[${t.id}] could not be retried: ${(err as Error).message}`);
      await this.fail(task, request, err);
      return "FAILURE";
    }
    const info = errorToExceptionInfo(exc ?? retry);
    if (this.storesResult(task, request)) {
      await this.store(request, "RETRY", info as unknown as WireValue, formatTraceback(exc ?? retry), [[[t.id, null], null]]);
    }
    this.logger.info(`Task ${t.name}[${t.id}] retry: ${retry.message}`);
    return "RETRY";
  }
}
