/**
 * What the threads and prefork pools share: children ("slots") that each run one job at a time,
 * the job protocol (slot-protocol.ts), killing and replacing a slot, max-tasks-per-child and
 * max-memory-per-child, and WorkerLostError when a slot dies mid-job. A subclass says how a child
 * is started and stopped (a worker thread, a child process) and how its exit is logged.
 */
import { resolve as resolvePath } from "node:path";
import { ReplaceRequest } from "../../client/task";
import type { Logger, LogLevel } from "../../logging";
import type { RegisteredTask } from "../../task-types";
import { reviveError, UnencodableResult, WorkerLostError } from "../errors";
import { strayErrorText } from "../crash-guard";
import { taskLabel } from "../task-label";
import { RetryRequest } from "../retry";
import type { Request } from "../request";
import type { ChildConf, ParentMessage, SlotMessage } from "./slot-protocol";
import type { Execution, ExecutionPool, HandlerOutcome, JobHooks, PoolInfo } from "./types";

/** Options of a slot pool. */
export interface SlotPoolOptions {
  /** Module exporting the app (as `app` or default), loaded by every child. */
  appModule: string;
  /** Most children at once (the worker's concurrency). */
  size: number;
  /** Replace a child after this many tasks (Celery worker_max_tasks_per_child). */
  maxTasksPerChild?: number | null;
  /** Replace a child whose memory passed this many KiB after a task (Celery worker_max_memory_per_child). */
  maxMemoryPerChild?: number | null;
  /** Where the pool and what its children report are logged (masked). */
  logger: Logger;
  /** The worker's node name, given to the app's workerProcessInit / workerProcessShutdown listeners (prefork). */
  hostname?: string;
  /** worker_redirect_stdouts: children send what they print to `logger` (default false: their console is the worker's). */
  redirectStdouts?: boolean;
  /** worker_redirect_stdouts_level: the level of those lines (default WARNING). */
  redirectStdoutsLevel?: LogLevel;
  /** The settings each child sets on its app once loaded, read as it starts (child-conf.ts). */
  conf?: () => ChildConf;
}

/** One started child as the pool drives it. */
export interface SlotHost {
  /** Process id of the child (a thread: the worker's own). */
  readonly pid: number;
  /** Send a message; a child that is gone drops it (its exit reports the job). */
  post(message: ParentMessage): void;
  /**
   * Stop the child: `kill` at once (hard limit, terminate; `signal`: the one revoke(terminate)
   * asked for, a child process gets it), `retire` when it is idle (recycle, close). Resolves when it is gone.
   */
  stop(how: "kill" | "retire", signal?: NodeJS.Signals): Promise<void>;
}

/** What a child reports to its pool. */
export interface SlotEvents {
  message(message: SlotMessage): void;
  /** The child is gone; `status` as billiard's human_status: "exitcode 3", "signal 9 (SIGKILL)". */
  exit(status: string): void;
}

/** A child and its bookkeeping. */
export interface Slot {
  /** 1, 2, ...: never reused, so a replacement has a new one (ForkPoolWorker-<id>, Thread-<id>). */
  readonly id: number;
  readonly host: SlotHost;
  tasks: number;
  busy: Job | null;
  /** Sent "online": it loaded the app module. */
  online: boolean;
  /** pool_restart came while it ran a job: retire it after the job. */
  restartAfterJob: boolean;
  /** Stopped on purpose: "retired" (recycle, close), "killed" (hard limit) or "terminated" (revoke terminate): its job is not lost. */
  ending: "retired" | "killed" | "terminated" | null;
}

interface Job {
  id: number;
  hooks: JobHooks;
  finish(o: HandlerOutcome): void;
}

/** A promise settled once, by the first `finish`. */
export function settledOnce(): { done: Promise<HandlerOutcome>; finish: (o: HandlerOutcome) => void } {
  let resolveDone!: (o: HandlerOutcome) => void;
  let finished = false;
  const done = new Promise<HandlerOutcome>((resolve) => (resolveDone = resolve));
  const finish = (o: HandlerOutcome): void => {
    if (finished) return;
    finished = true;
    resolveDone(o);
  };
  return { done, finish };
}

function upperFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A pool of children that run one job each at a time (threads.ts, prefork.ts). */
export abstract class SlotPool implements ExecutionPool {
  abstract readonly kind: "threads" | "prefork";
  protected readonly slots = new Set<Slot>();
  protected readonly appModule: string;
  private nextSlot = 1;
  private nextJob = 1;

  constructor(protected readonly options: SlotPoolOptions) {
    this.appModule = resolvePath(process.cwd(), options.appModule);
  }

  /** Start a child with `id` that reports to `events`. */
  protected abstract launch(id: number, events: SlotEvents): SlotHost;
  /** The error line logged when a child exits (Celery's "Process '...' exited with '...'"). */
  protected abstract exitLine(slot: Slot, status: string): string;
  /** How a child is named in info lines ("pool thread 3"). */
  protected abstract describe(slot: Slot): string;
  /** The process name of a child's log lines (`[...: WARNING/ForkPoolWorker-1]`). */
  protected abstract processName(slot: Slot): string;
  /** What max-memory-per-child measures, for the log line ("heap"). */
  protected abstract readonly memoryName: string;
  /** What `inspect stats` shows of this pool. */
  abstract info(): PoolInfo;
  /** Change how many jobs may run at once; false when this pool cannot (see ExecutionPool.resize). */
  abstract resize(size: number): boolean;

  /** Start children when the worker starts (see ExecutionPool.open); by default they start when a job needs one. */
  async open(): Promise<void> {
    // threads are started when a job needs one
  }

  /** Whether the exit of `slot` is logged as an error (default: it died with a job, unasked). */
  protected logsExit(slot: Slot, hadJob: boolean): boolean {
    return hadJob && slot.ending === null;
  }

  /** A slot left the pool (died, killed, retired): a subclass may start a replacement. */
  protected slotGone(_slot: Slot): void {
    // threads are started when a job needs one
  }

  /** A slot loaded the app module and takes jobs. */
  protected slotOnline(_slot: Slot): void {
    // nothing by default
  }

  /** Start one child and add it to the pool. */
  protected spawn(): Slot {
    const id = this.nextSlot++;
    // Events come asynchronously, after `slot` is set.
    const events: SlotEvents = {
      message: (m) => this.onMessage(slot, m),
      exit: (status) => this.onExit(slot, status),
    };
    const slot: Slot = { id, host: this.launch(id, events), tasks: 0, busy: null, online: false, restartAfterJob: false, ending: null };
    this.slots.add(slot);
    return slot;
  }

  private onExit(slot: Slot, status: string): void {
    const wasMember = this.slots.delete(slot);
    const job = slot.busy;
    slot.busy = null;
    if (this.logsExit(slot, job !== null)) this.options.logger.error(this.exitLine(slot, status));
    else this.options.logger.debug(this.exitLine(slot, status));
    if (job && slot.ending === null) {
      job.finish({ kind: "lost", error: new WorkerLostError(`Worker exited prematurely: ${status} Job: ${job.id}.`) });
    }
    if (wasMember) this.slotGone(slot);
  }

  private onMessage(slot: Slot, m: SlotMessage): void {
    if (m.type === "log") {
      const fields = m.task ? { taskId: m.task.id, taskName: m.task.name } : undefined;
      this.options.logger.log(m.level ?? this.options.redirectStdoutsLevel ?? "WARNING", m.text, this.processName(slot), fields);
      return;
    }
    if (m.type === "online") {
      slot.online = true;
      this.slotOnline(slot);
      return;
    }
    if (m.type === "stray") {
      this.strayError(slot, m);
      return;
    }
    if (m.type === "loadError") {
      this.options.logger.error(`${upperFirst(this.describe(slot))} could not load the app module ${this.appModule}; it exits:\n${strayErrorText(reviveError(m.error))}`);
      return;
    }
    const job = slot.busy;
    if (!job || m.job !== job.id) return;
    if (m.type === "updateState") {
      job.hooks.updateState(m.state, m.meta).then(
        () => slot.host.post({ type: "stateStored", seq: m.seq }),
        (err: Error) => slot.host.post({ type: "stateStored", seq: m.seq, error: err.message }),
      );
      return;
    }
    slot.busy = null;
    slot.tasks++;
    if (m.type === "return") job.finish({ kind: "return", value: m.unencodable === undefined ? m.value : new UnencodableResult(m.unencodable), children: m.children });
    else if (m.type === "throw") job.finish({ kind: "throw", error: reviveError(m.error) });
    else if (m.type === "replace") job.finish({ kind: "throw", error: new ReplaceRequest(m.signature) });
    else {
      const exc = m.exc ? reviveError(m.exc) : undefined;
      job.finish({ kind: "throw", error: new RetryRequest({ ...m.options, exc }) });
    }
    this.afterJob(slot, m.memory);
  }

  /**
   * An error escaped a task in a child (its crash guard, slot-runner.ts): logged here against the
   * task, as the event loop's crash guard does, and the child carries on. An uncaught exception
   * outside any task leaves the child unsafe: it exits after sending this, and is replaced.
   */
  private strayError(slot: Slot, m: Extract<SlotMessage, { type: "stray" }>): void {
    const text = strayErrorText(reviveError(m.error));
    const { logger } = this.options;
    if (m.task) logger.error(`Task ${taskLabel(m.task)} left an error unhandled (${m.origin}); the worker carries on:\n${text}`);
    else if (m.origin === "unhandled promise rejection") logger.error(`Unhandled promise rejection outside any task in ${this.describe(slot)}; it carries on:\n${text}`);
    else logger.log("CRITICAL", `Uncaught exception outside any task in ${this.describe(slot)}; it is no longer safe and is replaced:\n${text}`);
  }

  /** Recycle `slot` after a pool_restart or when it reached max-tasks-per-child or max-memory-per-child; subclasses may retire more. */
  protected afterJob(slot: Slot, memory: number): void {
    const { maxTasksPerChild, maxMemoryPerChild } = this.options;
    if (slot.restartAfterJob) {
      this.retire(slot, "pool restart");
    } else if (maxTasksPerChild && slot.tasks >= maxTasksPerChild) {
      this.retire(slot, `reached max tasks per child (${maxTasksPerChild})`);
    } else if (maxMemoryPerChild && memory / 1024 > maxMemoryPerChild) {
      this.retire(slot, `${this.memoryName} ${Math.round(memory / 1024)} KiB exceeds max memory per child (${maxMemoryPerChild} KiB)`);
    }
  }

  /** Stop an idle slot on purpose (logged at INFO) and let `slotGone` replace it. */
  protected retire(slot: Slot, why: string, verb = "Replacing"): void {
    this.options.logger.info(`${verb} ${this.describe(slot)}: ${why}`);
    this.end(slot, "retired");
  }

  /** pool_restart: idle children are replaced now, busy ones after their job. */
  restart(): boolean {
    for (const slot of [...this.slots]) {
      if (slot.busy) slot.restartAfterJob = true;
      else this.retire(slot, "pool restart");
    }
    return true;
  }

  private end(slot: Slot, how: "retired" | "killed" | "terminated", signal?: NodeJS.Signals): void {
    slot.ending = how;
    this.slots.delete(slot);
    void slot.host.stop(how === "retired" ? "retire" : "kill", signal);
    this.slotGone(slot);
  }

  private idleSlot(): Slot {
    for (const s of this.slots) if (!s.busy && !s.ending) return s;
    return this.spawn();
  }

  start(task: RegisteredTask, request: Request, args: unknown[], hooks: JobHooks): Execution {
    const { done, finish } = settledOnce();
    const job: Job = { id: this.nextJob++, hooks, finish };
    const slot = this.idleSlot();
    slot.busy = job;
    try {
      slot.host.post({ type: "run", job: job.id, name: task.name, args, info: request.info, trace: hooks.traceHeaders });
    } catch (err) {
      slot.busy = null;
      finish({ kind: "throw", error: err });
    }
    return {
      done,
      pid: slot.host.pid,
      softLimit: () => {
        if (slot.busy === job) slot.host.post({ type: "soft", job: job.id });
      },
      kill: (signal) => {
        if (slot.busy !== job) return;
        slot.busy = null;
        this.end(slot, signal ? "terminated" : "killed", signal);
        finish({ kind: "throw", error: new Error("terminated") });
      },
    };
  }

  /** Stop every child; jobs still running end as lost. */
  async close(): Promise<void> {
    const all = [...this.slots];
    this.slots.clear();
    await Promise.all(
      all.map((s) => {
        s.ending = "retired";
        const job = s.busy;
        s.busy = null;
        job?.finish({ kind: "lost", error: new WorkerLostError(`Worker exited prematurely: shutdown Job: ${job.id}.`) });
        return s.host.stop("retire");
      }),
    );
  }
}
