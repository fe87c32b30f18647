/**
 * celeriac for programs that only send tasks and read results: the app without its worker, results,
 * canvas, remote control and task types. Requiring it loads no worker code (dist/worker/); the
 * full entry (`celeriac`, src/index.ts) re-exports all of it with `Celery` that has `worker()`.
 */
export { CeleryClient, CeleryClient as Celery } from "./app";
export type { CelerySettings, ConfigFromObjectOptions } from "./settings";
export { envSettings, normalizeSettings, resolveConfig } from "./settings";
export { celerySettingName, settingKeyOf } from "./settings-names";
export type { CelerySnakeSettings, CelerySettingName } from "./settings-names";
export type { TaskAnnotations, TaskAnnotation, TaskAnnotator, TaskAnnotationAttributes } from "./task-annotations";
export type { AppContext } from "./app-context";
export { DEFAULTS } from "./config";
export type { CeleryConfig, Route, TaskRoutes, BrokerTransportOptions } from "./config";
export type { BrokerUseSsl, RedisSslSettings, AmqpSslSettings, CertReqs } from "./connectivity/tls-settings";
export type { DjangoDatabaseSettings } from "./backend/django-db/settings";
export { AsyncResult, ResultTimeoutError } from "./client/async-result";
export type { GetOptions } from "./client/async-result";
export { EagerResult } from "./client/eager-result";
export type { EagerParent } from "./client/eager-result";
export { Task, ReplaceRequest } from "./client/task";
export { RemoteTask } from "./client/remote-task";
export type { RemoteTaskOptions } from "./client/remote-task";
export type { ApplyArgs, NoKwargs, PartialArgs, RemainingArgs, SignatureKwargs } from "./client/call-args";
export type { Jsonified } from "./client/jsonified";
export type { BoundTaskContext, TaskContext, TaskOptions, RequestInfo, RetryOptions, ErrorMatcher, RegisteredTask } from "./task-types";
export type { ApplyOptions, EagerApplyOptions, TaskMessage } from "./client/options";
export { Signature, Group, Chain, Chord, GroupResult, XMap, Chunks, chain, group, chord } from "./client/canvas";
export type { AnySignature, ArgsOf, CanvasResult, ChainOf, GroupResultsOf, HandleOf, ResultOf, SignatureApplyArgs } from "./client/canvas";
export { Control, Inspect } from "./client/control";
export type { BroadcastOptions, Replies } from "./client/control";
export { WorkerSignals } from "./signals";
export type { WorkerEventMap, WorkerEventName, WorkerEventListener } from "./signals";
export { Logger } from "./logging";
export type { LogLevel } from "./logging";
export { CeleryError } from "./protocol/exceptions";
export {
  RemoteError,
  SoftTimeLimitExceeded,
  TimeLimitExceeded,
  WorkerLostError,
  Terminated,
  MaxRetriesExceededError,
  TaskRevokedError,
  NotRegistered,
  ChordError,
  Retry,
} from "./protocol/error-classes";
export type { ErrorClass, StoredErrorFields } from "./protocol/error-classes";
export { MissingOptionalPackageError } from "./protocol/optional-package";
export type { WireValue, WireObject, SignatureDict } from "./protocol/message";
export type { ResultMeta, TaskState, ExceptionInfo } from "./protocol/result-meta";
export { taskLogFields } from "./telemetry/log-fields";
export type { TaskLogFields } from "./telemetry/log-fields";
export type { OutgoingTask, TaskBody } from "./protocol/encode";
