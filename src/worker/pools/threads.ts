/**
 * `pool: "threads"`: handlers run in node:worker_threads, one task per thread at a time, so a
 * hard time limit or `revoke(terminate)` can stop even synchronous CPU-bound code
 * (`thread.terminate()`; a new thread takes its place). A thread can only be terminated: the
 * signal of `revoke(terminate, signal)` is not delivered (SIGUSR1 excepted, which gives the task its
 * soft limit in every pool). Each thread loads the app module itself
 * (`-A` path) and finds the handler by task name. `maxTasksPerChild` and `maxMemoryPerChild`
 * (KiB of the thread's V8 heap) replace a thread after the task that reached the limit, as
 * Celery's prefork pool does with child processes. The job protocol is the slot pool's
 * (slot-pool.ts, slot-runner.ts); threads are started when a job needs one.
 *
 * As prefork children, a thread contains the errors that escape a task (a stray rejection or
 * uncaught exception is logged against the task and the thread carries on; one outside any task
 * ends the thread, which is replaced), and with worker_redirect_stdouts what it prints goes to the
 * worker's log (process name MainProcess, as Celery's threads pool logs). `process.on(...)` in a
 * thread sees that thread's errors only, so these listeners leave the main thread alone.
 */
import { Worker as Thread } from "node:worker_threads";
import { SLOT_RUNNER } from "./slot-runner";
import { SlotPool } from "./slot-pool";
import type { Slot, SlotEvents, SlotHost, SlotPoolOptions } from "./slot-pool";
import type { SlotMessage } from "./slot-protocol";
import type { PoolInfo } from "./types";

/** Options of the thread pool. */
export type ThreadPoolOptions = SlotPoolOptions;

/** What each thread evaluates: the slot runner on the thread's parentPort, measuring the V8 heap (with max-memory-per-child). */
const THREAD_MAIN = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const v8 = require("node:v8");
${SLOT_RUNNER}
runSlot({
  appModule: workerData.appModule,
  conf: workerData.conf,
  // postMessage queues the message at once: a process.exit in "then" does not lose it.
  send: (m, then) => {
    parentPort.postMessage(m);
    if (then) then();
  },
  onMessage: (listener) => parentPort.on("message", listener),
  memory: workerData.measureHeap ? () => v8.getHeapStatistics().used_heap_size : undefined,
  guard: true,
  redirect: workerData.redirect,
});
`;

export class ThreadPool extends SlotPool {
  readonly kind = "threads" as const;
  protected readonly memoryName = "heap";
  private readonly threads = new Map<number, Thread>();

  constructor(options: ThreadPoolOptions) {
    super(options);
  }

  /** Threads alive now. */
  get threadCount(): number {
    return this.slots.size;
  }

  /** Thread ids, for tests: a killed or recycled thread is replaced by one with a new id. */
  get threadIds(): number[] {
    return [...this.slots].flatMap((s) => this.threads.get(s.id)?.threadId ?? []);
  }

  protected launch(id: number, events: SlotEvents): SlotHost {
    const workerData = {
      appModule: this.appModule,
      conf: this.options.conf?.(),
      redirect: this.options.redirectStdouts ?? false,
      measureHeap: Boolean(this.options.maxMemoryPerChild),
    };
    const thread = new Thread(THREAD_MAIN, { eval: true, workerData });
    this.threads.set(id, thread);
    let stopping = false;
    thread.unref();
    thread.on("message", (m: SlotMessage) => events.message(m));
    thread.on("error", (err) => {
      if (!stopping) this.options.logger.error(`Pool thread ${id} raised: ${err.stack ?? err.message}`);
    });
    thread.on("exit", (code) => {
      this.threads.delete(id);
      events.exit(`exitcode ${code}`);
    });
    return {
      pid: process.pid,
      post: (message) => thread.postMessage(message),
      stop: async () => {
        stopping = true;
        await thread.terminate();
      },
    };
  }

  protected exitLine(slot: Slot, status: string): string {
    return `Process 'Thread-${slot.id}' exited with '${status}'`;
  }

  protected describe(slot: Slot): string {
    return `pool thread ${slot.id}`;
  }

  /** Threads run in the worker's process: their lines say MainProcess, as Celery's threads pool. */
  protected processName(): string {
    return "MainProcess";
  }

  info(): PoolInfo {
    return { implementation: "celeriac:threads", processes: [process.pid], maxTasksPerChild: null };
  }

  /** The thread pool keeps its size: false. */
  resize(): boolean {
    return false;
  }
}
