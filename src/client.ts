/**
 * celeriac for programs that only send tasks and read results: the app without its worker, results,
 * canvas, remote control and task types. Requiring it loads no worker code (dist/worker/); the
 * full entry (`celeriac`, src/index.ts) re-exports all of it with `Celery` that has `worker()`.
 */
export { CeleryClient, CeleryClient as Celery } from "./app";
export type { CelerySettings } from "./app";
export type { NamedSettings, ConfigFromObjectOptions } from "./settings";
export { envSettings, normalizeSettings, resolveConfig } from "./settings";
export { celerySettingName, settingKeyOf } from "./settings-names";
export type { CelerySnakeSettings, CelerySettingName, SettingKey } from "./settings-names";
export type { TaskAnnotations, TaskAnnotation, TaskAnnotator, TaskAnnotationAttributes } from "./task-annotations";
export type { AppContext } from "./app-context";
export { DEFAULTS } from "./config";
export type { CeleryConfig, Route, TaskRoutes, BrokerTransportOptions, AmqpBrokerTransportOptions } from "./config";
export type { RedisTransportOptions } from "./transport/redis/options";
export type { AmqpTransportOptions } from "./transport/amqp/options";
export type { SentinelTransportOptions, SentinelKwargs } from "./connectivity/sentinel";
export type { ConnectionStateListener, ConnectionStateEvent } from "./connectivity/state";
export type { FailoverStrategy } from "./connectivity/failover";
export type { Transport, ConnectOptions, QueueDeclaration, Delivery, ConsumeOptions, PublishTarget, PublishItem, Consumer as TransportConsumer } from "./transport/types";
export type { ResultBackend, ResultRoute } from "./backend/types";
export type { SecuritySetup } from "./security";
export type { AuthSerializer, SignatureLayout, InnerSerializer } from "./protocol/security/auth-serializer";
export type { SerializerName, AuthCodec, SerializedBody } from "./protocol/serializers";
export type { DecodeLimits } from "./protocol/limits";
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
export type { BoundTaskContext, TaskContext, TaskOptions, RequestInfo, RetryOptions, ErrorMatcher, RegisteredTask, AnyHandler, TaskLogger } from "./task-types";
export type { ApplyOptions, EagerApplyOptions, TaskMessage } from "./client/options";
export type { CanvasApp, EagerCanvas } from "./client/canvas";
export type { EagerRunner } from "./client/eager";
export { Signature, Group, Chain, Chord, GroupResult, XMap, Chunks, chain, group, chord } from "./client/canvas";
export type { AnySignature, ArgsOf, CanvasResult, ChainOf, GroupResultsOf, HandleOf, ResultOf, SignatureApplyArgs } from "./client/canvas";
export { Control, Inspect } from "./client/control";
export type { BroadcastOptions, Replies } from "./client/control";
export { WorkerSignals } from "./signals";
export type { WorkerEventMap, WorkerEventName, WorkerEventListener } from "./signals";
export { Logger } from "./logging";
export type { LogLevel, LogFields, LogFormat, LoggerOptions, ExternalLogger } from "./logging";
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
export type { WireValue, WireObject, SignatureDict, RawMessage, TaskHeaders, TaskProperties, DecodedTask, Embed } from "./protocol/message";
export type { SignatureInput, SignatureLike } from "./protocol/signature";
export type { ResultMeta, TaskState, ExceptionInfo, ResultTuple, GroupMeta } from "./protocol/result-meta";
export { taskLogFields } from "./telemetry/log-fields";
export type { TaskLogFields } from "./telemetry/log-fields";
export type { OutgoingTask, TaskBody } from "./protocol/encode";
