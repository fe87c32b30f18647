/**
 * One decoded task with its delivery (Celery's `celery/worker/request.py`): what the strategy and
 * tracer work on, and the owner of its message's fate: ack, reject or give back once, under the
 * task's ack policy; revoke checks; stopping the run (terminate, cold shutdown); time limits.
 */
import type { CeleryConfig } from "../config";
import type { Logger } from "../logging";
import type { DecodedTask } from "../protocol/message";
import type { Delivery } from "../transport/types";
import type { RequestInfo, TaskOptions } from "../task-types";
import type { LimitedSet } from "./state";
import type { RevokedStamps } from "./revoked-stamps";
import { isExpired } from "./strategy";
import { taskLabel } from "./task-label";

/**
 * What a traced run ended as: the request settles its message from it. TIMEOUT = hard time
 * limit; LOST = the thread or child process died; REQUEUE = lost with acksLate + rejectOnWorkerLost; ABANDONED =
 * cold shutdown stopped waiting for it (nothing stored).
 */
export type TraceOutcome = "SUCCESS" | "FAILURE" | "RETRY" | "TIMEOUT" | "REVOKED" | "LOST" | "REQUEUE" | "ABANDONED";

/** How a message is settled at the broker: acked, rejected with or without requeue, or given back untouched. */
export type Settlement = "ack" | "requeue" | "release" | "drop";

/** Why a run is stopped from outside the task: revoke with terminate, or a cold shutdown. */
export type RunStop = { kind: "terminated"; signal: NodeJS.Signals } | { kind: "abandon" };

/** Hard and soft time limits in seconds (null: none). */
export interface TimeLimits {
  hard: number | null;
  soft: number | null;
}

/** A task's ack policy: its options over the app's settings. */
export interface AckPolicy {
  /** Celery `acks_late`: ack after the run instead of when it starts. */
  acksLate: boolean;
  /** Celery `acks_on_failure_or_timeout`: with acksLate, ack a failed or timed-out run (else reject it, not requeued). */
  acksOnFailureOrTimeout: boolean;
  /** Celery `reject_on_worker_lost`: with acksLate, requeue the message when the thread or child process running it died. */
  rejectOnWorkerLost: boolean;
}

/** The ack policy of a task: its options, else the app's task_acks_late, ... settings. */
export function ackPolicy(
  options: Pick<TaskOptions, "acksLate" | "acksOnFailureOrTimeout" | "rejectOnWorkerLost">,
  conf: Pick<CeleryConfig, "taskAcksLate" | "taskAcksOnFailureOrTimeout" | "taskRejectOnWorkerLost">,
): AckPolicy {
  return {
    acksLate: options.acksLate ?? conf.taskAcksLate,
    acksOnFailureOrTimeout: options.acksOnFailureOrTimeout ?? conf.taskAcksOnFailureOrTimeout,
    rejectOnWorkerLost: options.rejectOnWorkerLost ?? conf.taskRejectOnWorkerLost,
  };
}

/**
 * How an acksLate message is settled after the run (Celery Request.on_success/on_failure/
 * on_timeout): acked, unless it failed with acksOnFailureOrTimeout=false (rejected, not
 * requeued), its thread or child process died with rejectOnWorkerLost (requeued), or a cold shutdown abandoned it
 * (given back).
 */
export function settlementAfterRun(outcome: TraceOutcome, policy: AckPolicy): Settlement {
  switch (outcome) {
    case "REQUEUE":
      return "requeue";
    case "ABANDONED":
      return "release";
    case "FAILURE":
    case "TIMEOUT":
    case "LOST":
      return policy.acksOnFailureOrTimeout ? "ack" : "drop";
    default:
      return "ack";
  }
}

/** What a request tells its consumer while it settles. */
export interface RequestHooks {
  /** The message leaves the prefetch window (once, before the broker is told). */
  leaving(): void;
  /** The broker was told (or the attempt failed and was logged): the transport may fetch more. */
  settled(): void;
  /** Send a task event the worker raises itself (task-rejected), when task events are on. */
  taskEvent(type: string, fields: Record<string, unknown>): void;
  /** Where a failed ack/reject/release is logged. */
  readonly logger: Logger | null;
}

const SETTLED: Promise<void> = Promise.resolve();

/** The DEBUG line of each settlement (`-l debug`). */
const SETTLED_WORDS: Record<Settlement, string> = { ack: "Acked", requeue: "Requeued (rejected)", drop: "Rejected (dropped)", release: "Released" };

const NO_HOOKS: RequestHooks = { leaving: () => undefined, settled: () => undefined, taskEvent: () => undefined, logger: null };

/** A task request held by the worker. */
export class Request {
  private requestInfo: RequestInfo | null = null;
  /** Settled (acked, rejected or given back) already. */
  acknowledged = false;
  /** Unix ms when execution started. */
  timeStart: number | null = null;
  /** Pid of the process running the handler, set when it starts (prefork: the child's; Celery's worker_pid). */
  workerPid: number | null = null;
  /** Set while it runs: how the tracer is told to stop it. */
  private stopRun: ((stop: RunStop) => void) | null = null;

  /** Build the request from a decoded message and its delivery; `hooks` connect it to the consumer. */
  constructor(readonly task: DecodedTask, readonly delivery: Delivery, private readonly hostname: string, private readonly hooks: RequestHooks = NO_HOOKS) {}

  /** What the handler sees as `ctx.request` (Celery's task.request); built when first read. */
  get info(): RequestInfo {
    return (this.requestInfo ??= this.buildInfo());
  }

  private buildInfo(): RequestInfo {
    const { task, delivery, hostname } = this;
    return {
      id: task.id,
      task: task.task,
      name: task.name,
      args: task.args,
      kwargs: task.kwargs,
      retries: task.retries,
      rootId: task.rootId,
      parentId: task.parentId,
      groupId: task.group,
      groupIndex: task.groupIndex,
      eta: task.eta,
      expires: task.expires,
      hostname,
      correlationId: task.correlationId,
      replyTo: task.replyTo,
      origin: task.origin,
      ignoreResult: task.ignoreResult,
      timelimit: task.timelimit,
      deliveryInfo: {
        exchange: delivery.exchange,
        routingKey: delivery.routingKey,
        priority: task.priority,
        redelivered: delivery.redelivered,
      },
      headers: task.headers,
    };
  }

  /**
   * Settle the message once (later calls do nothing): ack, reject (requeued or dropped) or give it
   * back untouched (release; a transport without release requeues). A broker error is logged.
   */
  settle(how: Settlement): Promise<void> {
    if (this.acknowledged) return SETTLED;
    this.acknowledged = true;
    this.hooks.leaving();
    let told: Promise<void>;
    try {
      if (how === "ack") told = this.delivery.ack();
      else if (how === "release" && this.delivery.release) told = this.delivery.release();
      else told = this.delivery.reject(how !== "drop");
    } catch (err) {
      told = Promise.reject(err);
    }
    return told.then(
      () => {
        if (this.hooks.logger?.enabled("DEBUG")) this.hooks.logger.debug(`${SETTLED_WORDS[how]} message of task ${taskLabel(this.task)}`);
        this.hooks.settled();
      },
      (err: unknown) => {
        this.hooks.logger?.error(`Could not ${how} message of task ${taskLabel(this.task)}: ${(err as Error).message}`);
        this.hooks.settled();
      },
    );
  }

  /**
   * The run starts: time_start is set, and the message is acked now unless acksLate (the ack is
   * not awaited: commands on the broker connection stay in order, and a failure is logged).
   */
  begin(policy: AckPolicy): void {
    if (!policy.acksLate) void this.settle("ack");
    this.timeStart = Date.now();
  }

  /**
   * The run ended: with acksLate, settle as `settlementAfterRun` says; a reject (requeued or not)
   * sends task-rejected, as Celery's `Request.reject`. Without acksLate the message was acked at start.
   */
  async finish(outcome: TraceOutcome, policy: AckPolicy): Promise<void> {
    if (!policy.acksLate) return;
    const how = settlementAfterRun(outcome, policy);
    const rejects = (how === "requeue" || how === "drop") && !this.acknowledged;
    await this.settle(how);
    if (rejects) this.hooks.taskEvent("task-rejected", { uuid: this.task.id, requeue: how === "requeue" });
  }

  /** Celery `Request.revoked()`: an expired id joins the revoked set; true when the id or a stamp is revoked (the consumer's check). @internal */
  isRevoked(revoked: LimitedSet, stamps: RevokedStamps): boolean {
    if (isExpired(this.task)) revoked.add(this.task.id);
    return revoked.has(this.task.id) || stamps.match(this.task) !== null;
  }

  /** The limits of this run: the message's `timelimit` header values when set, else `defaults`. */
  timeLimits(defaults: TimeLimits): TimeLimits {
    const [hard, soft] = this.task.timelimit;
    return { hard: hard || defaults.hard, soft: soft || defaults.soft };
  }

  /** The tracer, while the run lasts: `onStop` is called on terminate or abandon. Returns the unsubscribe. */
  whileRunning(onStop: (stop: RunStop) => void): () => void {
    this.stopRun = onStop;
    return () => {
      if (this.stopRun === onStop) this.stopRun = null;
    };
  }

  /** Stop the run now with `signal` (revoke with terminate): REVOKED "terminated" is stored. Nothing when not running. */
  terminate(signal: NodeJS.Signals): void {
    this.stopRun?.({ kind: "terminated", signal });
  }

  /** Stop waiting for the run and store nothing (cold shutdown). Nothing when not running. */
  abandon(): void {
    this.stopRun?.({ kind: "abandon" });
  }
}

/** Build the request from a decoded message and its delivery (no consumer attached). */
export function createRequest(task: DecodedTask, delivery: Delivery, hostname: string): Request {
  return new Request(task, delivery, hostname);
}

export { handlerArguments } from "../handler-arguments";
export type { ArgumentsTarget } from "../handler-arguments";
