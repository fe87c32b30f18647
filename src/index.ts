/** celeriac: Celery's wire protocol for TypeScript — worker and client on the same queues as Python Celery. */
// Everything of the client entry; its `Celery` (the app without worker) is shadowed by the one below.
export * from "./client";
export { Celery } from "./celery";
export { EventDispatcher, EventReceiver, LamportClock, decodeEvents } from "./events";
export type { CeleryEvent, EventDispatcherOptions, EventReceiverOptions } from "./events";
export type { WorkerControlOptions } from "./worker/control";
export { Worker } from "./worker/worker";
export type { WorkerOptions, WorkerStats, RevokeOptions, StopOptions } from "./worker/worker";
export type { ControlledWorker } from "./worker/worker-types";
export type { Consumer } from "./worker/consumer";
export type { Autoscaler, AutoscaleOptions, AutoscalerInfo } from "./worker/autoscaler";
export type { TaskOverrides } from "./worker/consumer";
export type { Request } from "./worker/request";
export type { AckPolicy, Settlement, TimeLimits, TraceOutcome, RunStop } from "./worker/request";
export {
  Beat,
  BeatEntries,
  beatEntries,
  crontab,
  Crontab,
  schedule,
  IntervalSchedule,
  solar,
  Solar,
  FileStore,
  RedisStore,
} from "./beat";
export type { BeatOptions, BeatEntrySpec, BeatSchedule, BeatEntryOptions, BeatEntryInfo, BeatStore, Schedule, ScheduleJSON, CronSpec, CrontabFields, SolarEvent } from "./beat";
export type { BeatEntry, BeatEntryJSON, BeatSender, EntryState, LeaseResult, RedisStoreOptions, StoreMeta, ScheduleContext, ScheduleState } from "./beat";
export type { WallTime } from "./beat/tz";
