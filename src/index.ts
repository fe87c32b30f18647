/** celeriac: Celery's wire protocol for TypeScript — worker and client on the same queues as Python Celery. */
export { Celery } from "./app";
export type { CelerySettings } from "./app";
export { DEFAULTS, resolveConfig } from "./config";
export type { CeleryConfig, Route, TaskRoutes, BrokerTransportOptions } from "./config";
export { AsyncResult, ResultTimeoutError } from "./client/async-result";
export type { GetOptions } from "./client/async-result";
export { Task } from "./client/task";
export type { TaskContext, TaskOptions, RequestInfo, RetryOptions } from "./client/task";
export type { ApplyOptions } from "./client/options";
export { Worker } from "./worker/worker";
export type { WorkerOptions, WorkerStats } from "./worker/worker";
export { Logger } from "./logging";
export type { LogLevel } from "./logging";
export { CeleryError } from "./protocol/exceptions";
export type { WireValue, SignatureDict } from "./protocol/message";
export type { ResultMeta, TaskState, ExceptionInfo } from "./protocol/result-meta";
