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
 */
import { Worker as Thread } from "node:worker_threads";
import { SLOT_RUNNER } from "./slot-runner";
import { SlotPool } from "./slot-pool";
import type { Slot, SlotEvents, SlotHost, SlotPoolOptions } from "./slot-pool";
import type { SlotMessage } from "./slot-protocol";
import type { PoolInfo } from "./types";

/** Options of the thread pool. */
export type ThreadPoolOptions = SlotPoolOptions;

/** What each thread evaluates: the slot runner on the thread's parentPort, measuring the V8 heap. */
const THREAD_MAIN = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const v8 = require("node:v8");
${SLOT_RUNNER}
runSlot({
  appModule: workerData.appModule,
  send: (m) => parentPort.postMessage(m),
  onMessage: (listener) => parentPort.on("message", listener),
  memory: () => v8.getHeapStatistics().used_heap_size,
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
    const thread = new Thread(THREAD_MAIN, { eval: true, workerData: { appModule: this.appModule } });
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

  info(): PoolInfo {
    return { implementation: "celeriac:threads", processes: [process.pid], maxTasksPerChild: null };
  }

  /** The thread pool keeps its size: false. */
  resize(): boolean {
    return false;
  }
}
