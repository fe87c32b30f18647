/** celeriac: Celery's wire protocol for TypeScript — worker and client on the same queues as Python Celery. */
export { Celery } from "./app";
export type { CelerySettings } from "./app";
export { DEFAULTS, resolveConfig } from "./config";
export type { CeleryConfig, Route, TaskRoutes, BrokerTransportOptions } from "./config";
export { AsyncResult, ResultTimeoutError } from "./client/async-result";
export type { GetOptions } from "./client/async-result";
export { Task, ReplaceRequest } from "./client/task";
export type { BoundTaskContext, TaskContext, TaskOptions, RequestInfo, RetryOptions, ErrorMatcher } from "./client/task";
export type { ApplyOptions } from "./client/options";
export { Signature, Group, Chain, Chord, GroupResult, XMap, Chunks, chain, group, chord } from "./client/canvas";
export type { CanvasResult } from "./client/canvas";
export { Control, Inspect } from "./client/control";
export type { BroadcastOptions, Replies } from "./client/control";
export { EventDispatcher, EventReceiver, LamportClock, decodeEvents } from "./events";
export type { CeleryEvent } from "./events";
export type { WorkerControlOptions } from "./worker/control";
export { Worker } from "./worker/worker";
export type { WorkerOptions, WorkerStats, RevokeOptions, StopOptions } from "./worker/worker";
export type { Consumer } from "./worker/consumer";
export type { TaskOverrides } from "./worker/consumer";
export type { Request } from "./worker/request";
export type { AckPolicy, Settlement, TimeLimits, TraceOutcome } from "./worker/request";
export { WorkerSignals } from "./worker/events";
export type { WorkerEventMap, WorkerEventName, WorkerEventListener } from "./worker/events";
export { SoftTimeLimitExceeded, TimeLimitExceeded, WorkerLostError, MaxRetriesExceededError, TaskRevokedError } from "./worker/errors";
export { Logger } from "./logging";
export type { LogLevel } from "./logging";
export { CeleryError } from "./protocol/exceptions";
export type { WireValue, SignatureDict } from "./protocol/message";
export type { ResultMeta, TaskState, ExceptionInfo } from "./protocol/result-meta";
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
