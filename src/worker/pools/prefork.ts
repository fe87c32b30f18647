/**
 * `pool: "prefork"` (Celery's name, `-P prefork`): handlers run in N child processes
 * (`child_process.fork` of prefork-child.ts), one task per child at a time. The main process
 * keeps consuming, acking and storing results; it hands each job to an idle child over IPC (the
 * slot pool's protocol, slot-pool.ts). So a hard time limit SIGKILLs the child,
 * `revoke(terminate)` signals it (below), and a child that dies (SIGKILL, OOM, a native crash,
 * `process.exit` in a task) costs its running task only (WorkerLostError, or a requeue under
 * acksLate + rejectOnWorkerLost): a new child takes its place and the worker carries on. `maxMemoryPerChild` is KiB of the child's
 * resident set, as in Celery.
 *
 * Soft limits reach the child as a message: a bound handler that awaits sees ctx.signal abort
 * with SoftTimeLimitExceeded, a plain one fails with it at once. A synchronous CPU-bound handler
 * cannot see it inside its loop (JavaScript has nothing like billiard's SIGUSR1 raising inside
 * running code): its run goes on, and only the hard limit stops it.
 *
 * Children are forked by open(), when the worker starts (Celery's pool starts before its
 * consumer), never when the pool or worker is constructed.
 *
 * `revoke(terminate, signal)` sends the signal asked (default SIGTERM; as billiard's
 * terminate_job) to the task's child; REVOKED "terminated" is stored at once, a new child takes
 * its place at once, and the exit is logged at DEBUG only (billiard does not log a child it
 * terminated). A Node child does not die from every signal: it ignores SIGINT (so a Ctrl-C of the
 * process group leaves running tasks to the warm shutdown, as billiard's do), SIGCONT, SIGWINCH,
 * SIGCHLD, SIGURG and SIGPIPE, stops on SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU, and its app may handle
 * any. Where billiard's child would run on (and its outcome overwrite REVOKED), celeriac ends it:
 * a child that has not exited 5 s after the signal is SIGKILLed, with a WARNING line.
 * SIGUSR1 is never sent (Node would open its inspector): it is billiard's soft time limit signal,
 * so the tracer gives the task its soft limit instead and the child runs on, as in Celery
 * (REVOKED is stored, then the task's own outcome).
 */
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { resolve as resolvePath } from "node:path";
import { SlotPool } from "./slot-pool";
import type { Slot, SlotEvents, SlotHost, SlotPoolOptions } from "./slot-pool";
import type { ParentMessage, SlotMessage } from "./slot-protocol";
import type { ChildSettings } from "./prefork-child";
import type { PoolInfo } from "./types";

/** Options of the prefork pool (`size`: the number of child processes). */
export type PreforkPoolOptions = SlotPoolOptions;

/**
 * A child that has not exited this long after it was retired (its app module or a
 * workerProcessShutdown listener holds it) or sent revoke(terminate)'s signal (it ignores or
 * handles that signal) is SIGKILLed.
 */
const EXIT_GRACE_MS = 5000;
/**
 * A child that died before it loaded the app module is replaced after a delay that doubles from
 * this with each such death, up to RESPAWN_DELAY_MAX_MS, and is reset when a child comes online.
 */
const RESPAWN_DELAY_MS = 1000;
const RESPAWN_DELAY_MAX_MS = 30_000;
/** open() waits at most this long for the first children to load the app module. */
const OPEN_WAIT_MS = 10_000;

/**
 * The child entry: next to this file when compiled; under ts-jest (src/), the build's, as children
 * run compiled code (build first).
 */
function childEntry(): string {
  const here = resolvePath(__dirname, "prefork-child.js");
  return existsSync(here) ? here : resolvePath(__dirname, "../../../dist/worker/pools/prefork-child.js");
}

/** billiard's human_status: "exitcode 3", "signal 9 (SIGKILL)". */
export function humanStatus(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) {
    const n = osConstants.signals[signal];
    return n === undefined ? `signal ${signal}` : `signal ${n} (${signal})`;
  }
  return `exitcode ${code ?? 0}`;
}

/** Billiard's process name: ForkPoolWorker-<n>, n never reused. */
function childName(slot: Pick<Slot, "id">): string {
  return `ForkPoolWorker-${slot.id}`;
}

export class PreforkPool extends SlotPool {
  readonly kind = "prefork" as const;
  protected readonly memoryName = "resident memory";
  /** Children wanted (pool_grow / pool_shrink change it). */
  private target: number;
  /** open() was called: children are kept at `target` from then on. */
  private opened = false;
  private closed = false;
  /** Resolves the promise of open() (null once it settled). */
  private whenOpen: (() => void) | null = null;
  /** The wait before the next replacement of a child that died before it was ready. */
  private respawnDelay = RESPAWN_DELAY_MS;
  /** A replacement is waiting for `respawnDelay`. */
  private respawnPending = false;

  /** Forks nothing yet: open() (the worker's start) forks `options.size` children. */
  constructor(options: PreforkPoolOptions) {
    super(options);
    this.target = Math.max(1, options.size);
  }

  /**
   * Fork `target` children at once (the worker starts); nothing after close(). Resolves when they
   * all loaded the app module, or one died before it did (its replacement backs off), or after
   * OPEN_WAIT_MS.
   */
  override open(): Promise<void> {
    if (this.opened || this.closed) return Promise.resolve();
    this.opened = true;
    this.fill();
    return new Promise<void>((resolve) => {
      // Not unref'd: the children and their channels are, so this keeps the process up meanwhile.
      const timer = setTimeout(() => this.openSettled(), OPEN_WAIT_MS);
      this.whenOpen = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** open() is over: every first child is online, one died before it was, or the wait ran out. */
  private openSettled(): void {
    const done = this.whenOpen;
    this.whenOpen = null;
    done?.();
  }

  private fill(): void {
    while (this.slots.size < this.target) this.spawn();
  }

  /** Pids of the children alive now. */
  get pids(): number[] {
    return [...this.slots].map((s) => s.host.pid);
  }

  protected launch(id: number, events: SlotEvents): SlotHost {
    const settings: ChildSettings = {
      hostname: this.options.hostname ?? "",
      redirect: this.options.redirectStdouts ?? false,
      measureRss: Boolean(this.options.maxMemoryPerChild),
    };
    const child: ChildProcess = fork(childEntry(), [this.appModule, childName({ id }), JSON.stringify(settings)], {
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      execArgv: process.execArgv.filter((a) => !a.startsWith("--inspect")),
    });
    // The child waits for its settings before it loads the app (never in argv, which `ps` shows: they may hold secrets).
    child.send({ type: "conf", conf: this.options.conf?.() ?? {} } satisfies ParentMessage, () => undefined);
    // Children never keep the worker's process alive; they exit when it is gone (prefork-child.ts).
    child.unref();
    child.channel?.unref();
    let exited = false;
    const gone = new Promise<void>((resolve) =>
      child.once("exit", (code, signal) => {
        exited = true;
        events.exit(humanStatus(code, signal));
        resolve();
      }),
    );
    child.on("message", (m: SlotMessage) => events.message(m));
    child.on("error", (err) => this.options.logger.error(`Pool process ${childName({ id })} pid:${child.pid ?? "?"}: ${err.message}`));
    return {
      pid: child.pid ?? 0,
      post: (message) => {
        // A child that is gone drops it: its exit reports the job.
        if (child.connected) child.send(message, () => undefined);
      },
      stop: (how, signal = "SIGKILL") => {
        if (exited) return gone;
        if (how === "kill" && signal !== "SIGKILL") {
          // SIGUSR1 would open the Node inspector: never sent (the tracer gives it as the soft limit).
          if (signal !== "SIGUSR1") child.kill(signal);
          setTimeout(() => {
            if (exited) return;
            this.options.logger.warn(`Process '${childName({ id })}' pid:${child.pid ?? "?"} has not exited ${EXIT_GRACE_MS / 1000}s after ${signal}: sending SIGKILL`);
            child.kill("SIGKILL");
          }, EXIT_GRACE_MS).unref();
        } else if (how === "kill" || !child.connected) child.kill("SIGKILL");
        else {
          // It runs workerProcessShutdown (its output still reaches the log), then exits.
          const shutdown: ParentMessage = { type: "shutdown" };
          child.send(shutdown, () => undefined);
          setTimeout(() => !exited && child.kill("SIGKILL"), EXIT_GRACE_MS).unref();
        }
        return gone;
      },
    };
  }

  /**
   * Celery logs every exit it did not ask for, children killed at the hard limit included, but not
   * a child it terminated for revoke (billiard's _join_exited_workers skips a
   * `_controlled_termination`); those exits are logged at DEBUG.
   */
  protected override logsExit(slot: Slot): boolean {
    return slot.ending === null || slot.ending === "killed";
  }

  /**
   * Keep `target` children: a child that is gone is replaced at once, or later when it died before
   * it loaded the app module (so a module that cannot load is no tight crash loop): after 1 s,
   * doubling with each such death up to 30 s, back to 1 s once a child comes online.
   */
  protected override slotGone(slot: Slot): void {
    if (slot.online || slot.ending !== null) {
      this.refill();
      return;
    }
    this.openSettled();
    if (this.respawnPending || this.closed) return;
    const delay = this.respawnDelay;
    this.respawnDelay = Math.min(delay * 2, RESPAWN_DELAY_MAX_MS);
    this.respawnPending = true;
    this.options.logger.warn(`Process '${childName(slot)}' pid:${slot.host.pid} exited before it was ready; starting a new one in ${delay / 1000} s`);
    setTimeout(() => {
      this.respawnPending = false;
      this.refill();
    }, delay).unref();
  }

  private refill(): void {
    while (this.opened && !this.closed && this.slots.size < this.target) this.spawn();
  }

  protected override slotOnline(): void {
    this.respawnDelay = RESPAWN_DELAY_MS;
    if ([...this.slots].every((s) => s.online)) this.openSettled();
  }

  protected processName(slot: Slot): string {
    return childName(slot);
  }

  /** A child past the target (the pool shrank) is retired after its job; else max tasks / memory per child. */
  protected override afterJob(slot: Slot, memory: number): void {
    if (this.slots.size > this.target) this.retire(slot, `the pool shrinks to ${this.target}`, "Stopping");
    else super.afterJob(slot, memory);
  }

  protected exitLine(slot: Slot, status: string): string {
    return `Process '${childName(slot)}' pid:${slot.host.pid} exited with '${status}'`;
  }

  protected describe(slot: Slot): string {
    return `pool process '${childName(slot)}' pid:${slot.host.pid}`;
  }

  info(): PoolInfo {
    return { implementation: "celeriac:prefork", processes: this.pids, maxTasksPerChild: this.options.maxTasksPerChild ?? null };
  }

  /** Start children up to `size` (once open), or retire idle ones down to it (busy ones go after their job). */
  resize(size: number): boolean {
    this.target = Math.max(1, size);
    if (this.opened && !this.closed) this.fill();
    for (const slot of [...this.slots]) {
      if (this.slots.size <= this.target) break;
      if (!slot.busy) this.retire(slot, `the pool shrinks to ${this.target}`, "Stopping");
    }
    return true;
  }

  override async close(): Promise<void> {
    this.closed = true;
    this.openSettled();
    await super.close();
  }
}
