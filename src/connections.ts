/** Build transports and backends from URLs. */
import type { AppContext } from "./app-context";
import type { CeleryConfig } from "./config";
import type { Transport } from "./transport/types";
import type { ResultBackend } from "./backend/types";
import type { ResultMeta, GroupMeta } from "./protocol/result-meta";
import type * as RedisTransportModule from "./transport/redis";
import type * as AmqpTransportModule from "./transport/amqp";
import type * as RedisBackendModule from "./backend/redis";
import type * as DjangoDbBackendModule from "./backend/django-db";
import { isAmqpUrl } from "./transport/amqp/url";
import { installTableDecoder } from "./transport/amqp/table-decoder";
import { RpcBackend, isRpcBackendUrl } from "./backend/rpc";
import { sanitizeUrl, URL_MASK } from "./redact";

// The Redis and AMQP modules are loaded for the URLs in use only: each pulls in its client library
// (ioredis, amqplib), which an app on the other broker never needs (require caches them).
/* eslint-disable @typescript-eslint/no-require-imports -- synchronous loads on first use, which `import` cannot express */
const redisTransport = (): typeof RedisTransportModule => require("./transport/redis") as typeof RedisTransportModule;
const amqpTransport = (): typeof AmqpTransportModule => require("./transport/amqp") as typeof AmqpTransportModule;
const redisBackend = (): typeof RedisBackendModule => require("./backend/redis") as typeof RedisBackendModule;
const djangoDbBackend = (): typeof DjangoDbBackendModule => require("./backend/django-db") as typeof DjangoDbBackendModule;
/* eslint-enable @typescript-eslint/no-require-imports */

// amqplib reads py-amqp's `L` header tag only with our decoder, installed before anything loads
// amqplib (the program itself may, before its first AMQP connection): this loads amqplib's field
// codec alone, not amqplib.
installTableDecoder();

/** The transport for the broker URL (redis://, rediss://, amqp://, amqps://, pyamqp://). */
export function createTransport(config: CeleryConfig): Transport {
  const url = config.broker;
  if (/^rediss?:\/\//.test(url)) {
    const { RedisTransport } = redisTransport();
    return new RedisTransport(url, config.brokerTransportOptions);
  }
  if (isAmqpUrl(url)) {
    const bto = config.brokerTransportOptions;
    const { AmqpTransport } = amqpTransport();
    return new AmqpTransport(url, {
      heartbeat: config.brokerHeartbeat,
      connectionRetry: config.brokerConnectionRetry,
      connectionMaxRetries: config.brokerConnectionMaxRetries,
      connectionTimeout: config.brokerConnectionTimeout,
      queueMaxPriority: config.taskQueueMaxPriority,
      defaultQueueType: config.taskDefaultQueueType,
      confirmPublish: bto.confirmPublish,
      publishTimeout: bto.publishTimeout,
      retryIntervalStart: bto.retryIntervalStart,
      retryIntervalStep: bto.retryIntervalStep,
      retryIntervalMax: bto.retryIntervalMax,
      prefetchCount: bto.prefetchCount,
      globalQos: bto.globalQos,
      tls: bto.tls,
      onWarning: bto.onWarning,
    });
  }
  throw new Error(`unsupported broker URL: ${sanitizeUrl(url, URL_MASK)} (supported: redis://, rediss://, amqp://, amqps://, pyamqp://)`);
}

/**
 * The result backend for the backend URL, or a disabled backend when none is configured. rpc://
 * needs `context`: the app's broker connection and its id (the reply queue).
 */
export function createBackend(config: CeleryConfig, context?: Pick<AppContext, "connection" | "oid">): ResultBackend {
  const url = config.backend;
  if (!url) return new DisabledBackend();
  if (isRpcBackendUrl(url)) {
    if (!context) throw new Error("the rpc:// result backend needs the app's broker connection (createBackend(config, { connection, oid }))");
    return new RpcBackend({
      connection: () => context.connection(),
      oid: context.oid,
      resultExpires: config.resultExpires,
      serializer: config.resultSerializer,
      accept: [...new Set([...config.acceptContent, config.resultSerializer])],
      // result_persistent, once the config has it
      persistent: (config as { resultPersistent?: boolean }).resultPersistent ?? false,
    });
  }
  if (/^rediss?:\/\//.test(url)) {
    const { RedisBackend } = redisBackend();
    return new RedisBackend(url, {
      resultExpires: config.resultExpires,
      keyPrefix: config.resultBackendTransportOptions.globalKeyprefix,
    });
  }
  if (url === "django-db") {
    // django-celery-results' tables, on the database of `djangoDatabase` (Django's DATABASES)
    const { DjangoDbBackend } = djangoDbBackend();
    return new DjangoDbBackend(config.djangoDatabase, { serializer: config.resultSerializer, accept: [...new Set([...config.acceptContent, config.resultSerializer])] });
  }
  throw new Error(`unsupported result backend URL: ${sanitizeUrl(url, URL_MASK)} (supported: redis://, rediss://, rpc://, django-db)`);
}

/** Used when no result backend is configured: storing is a no-op, reading is an error. */
export class DisabledBackend implements ResultBackend {
  readonly name = "disabled";
  async connect(): Promise<void> {}
  async close(): Promise<void> {}
  async store(_taskId: string, _meta: ResultMeta): Promise<void> {}
  private fail(): never {
    throw new Error("No result backend is configured. Set `backend` (Celery result_backend) or CELERY_RESULT_BACKEND.");
  }
  async get(): Promise<ResultMeta | null> { return this.fail(); }
  async waitForReady(): Promise<ResultMeta> { return this.fail(); }
  async forget(): Promise<void> { return this.fail(); }
  async saveGroup(_groupId: string, _meta: GroupMeta): Promise<void> { return this.fail(); }
  async restoreGroup(): Promise<GroupMeta | null> { return this.fail(); }
  async deleteGroup(): Promise<void> { return this.fail(); }
}
