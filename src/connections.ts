/** Build transports and backends from URLs. */
import type { AppContext } from "./app-context";
import type { CeleryConfig } from "./config";
import type { Transport } from "./transport/types";
import type { ResultBackend } from "./backend/types";
import type { ResultMeta, GroupMeta } from "./protocol/result-meta";
import type { AuthCodec } from "./protocol/serializers";
import type * as RedisTransportModule from "./transport/redis";
import type * as AmqpTransportModule from "./transport/amqp";
import type * as RedisBackendModule from "./backend/redis";
import type * as RpcBackendModule from "./backend/rpc";
import type * as DjangoDbBackendModule from "./backend/django-db";
import { isAmqpUrl } from "./transport/amqp/url";
import { isRpcBackendUrl } from "./backend/rpc/url";
import { isMemoryUrl, MemoryTransport } from "./transport/memory";
import { isMemoryBackendUrl, MemoryBackend } from "./backend/memory";
import { sanitizeUrl, URL_MASK } from "./redact";
import { amqpTlsPlan, redisTlsPlan } from "./connectivity/tls-settings";
import { lazyTlsOptions } from "./connectivity/tls-options";
import { isSentinelUrl } from "./connectivity/sentinel";

/** redis://, rediss://, or a sentinel:// list (kombu's Sentinel transport, Celery's SentinelBackend). */
const isRedisUrl = (url: string): boolean => /^rediss?:\/\//.test(url) || isSentinelUrl(url);

// The Redis and AMQP modules are loaded for the URLs in use only: each pulls in its client library
// (ioredis, amqplib), which an app on the other broker never needs (require caches them); rpc://
// likewise. The AMQP transport installs its field-table decoder into amqplib when it loads
// (transport/amqp/table-decoder.ts), so a Redis app loads nothing of amqplib.
/* eslint-disable @typescript-eslint/no-require-imports -- synchronous loads on first use, which `import` cannot express */
const redisTransport = (): typeof RedisTransportModule => require("./transport/redis") as typeof RedisTransportModule;
const amqpTransport = (): typeof AmqpTransportModule => require("./transport/amqp") as typeof AmqpTransportModule;
const redisBackend = (): typeof RedisBackendModule => require("./backend/redis") as typeof RedisBackendModule;
const rpcBackend = (): typeof RpcBackendModule => require("./backend/rpc") as typeof RpcBackendModule;
const djangoDbBackend = (): typeof DjangoDbBackendModule => require("./backend/django-db") as typeof DjangoDbBackendModule;
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * The transport for the broker URL (redis://, rediss://, sentinel://, amqp://, amqps://, pyamqp://, memory://), with TLS
 * from broker_use_ssl and the URL's ssl_* parameters (connectivity/tls-settings.ts).
 */
export function createTransport(config: CeleryConfig): Transport {
  const url = config.broker;
  if (isMemoryUrl(url)) return new MemoryTransport();
  if (isRedisUrl(url)) {
    if (/;\s*rediss?:\/\//i.test(url)) throw new Error(`a list of redis:// broker URLs is not supported (use sentinel:// URLs for a Redis failover): ${sanitizeUrl(url, URL_MASK)}`);
    const { RedisTransport } = redisTransport();
    const tls = redisTlsPlan(url, "broker_use_ssl", config.brokerUseSsl);
    return new RedisTransport(url, config.brokerTransportOptions, tls ? lazyTlsOptions(tls, url) : undefined);
  }
  if (isAmqpUrl(url)) {
    const bto = config.brokerTransportOptions;
    const tls = amqpTlsPlan(url, config.brokerUseSsl);
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
      detectQuorumQueues: config.workerDetectQuorumQueues,
      tls: bto.tls,
      ...(tls ? { ssl: lazyTlsOptions(tls, url) } : {}),
      failoverStrategy: config.brokerFailoverStrategy,
      onWarning: bto.onWarning,
    });
  }
  throw new Error(`unsupported broker URL: ${sanitizeUrl(url, URL_MASK)} (supported: redis://, rediss://, sentinel://, amqp://, amqps://, pyamqp://, memory://)`);
}

/** What signs and verifies results: the app's `auth` serializer when result_serializer is "auth" (throws without one). */
function resultAuth(config: CeleryConfig, security: AuthCodec | null | undefined): AuthCodec | null {
  if (config.resultSerializer !== "auth") return null;
  if (!security) throw new Error("result_serializer 'auth' signs results: set up message signing first (app.setupSecurity())");
  return security;
}

/**
 * The result backend for the backend URL, or a disabled backend when none is configured. rpc://
 * needs `context`: the app's broker connection and its id (the reply queue); result_serializer
 * "auth" needs its `security` (the app's `setupSecurity()`).
 */
export function createBackend(config: CeleryConfig, context?: Pick<AppContext, "connection" | "oid"> & Partial<Pick<AppContext, "security">>): ResultBackend {
  const url = config.backend;
  if (!url) return new DisabledBackend();
  const auth = resultAuth(config, context?.security);
  if (isRpcBackendUrl(url)) {
    if (!context) throw new Error("the rpc:// result backend needs the app's broker connection (createBackend(config, { connection, oid }))");
    const { RpcBackend } = rpcBackend();
    return new RpcBackend({
      connection: () => context.connection(),
      oid: context.oid,
      resultExpires: config.resultExpires,
      serializer: config.resultSerializer,
      accept: [...new Set([...config.acceptContent, config.resultSerializer])],
      auth,
      // result_persistent, once the config has it
      persistent: (config as { resultPersistent?: boolean }).resultPersistent ?? false,
    });
  }
  if (isMemoryBackendUrl(url)) return new MemoryBackend();
  if (isRedisUrl(url)) {
    const { RedisBackend } = redisBackend();
    const tls = redisTlsPlan(url, "redis_backend_use_ssl", config.redisBackendUseSsl);
    return new RedisBackend(url, {
      resultExpires: config.resultExpires,
      keyPrefix: config.resultBackendTransportOptions.globalKeyprefix,
      sentinel: config.resultBackendTransportOptions,
      ...(tls ? { tls: lazyTlsOptions(tls, url) } : {}),
      auth,
    });
  }
  if (url === "django-db") {
    // django-celery-results' tables, on the database of `djangoDatabase` (Django's DATABASES)
    const { DjangoDbBackend } = djangoDbBackend();
    return new DjangoDbBackend(config.djangoDatabase, { serializer: config.resultSerializer, accept: [...new Set([...config.acceptContent, config.resultSerializer])] });
  }
  throw new Error(`unsupported result backend URL: ${sanitizeUrl(url, URL_MASK)} (supported: redis://, rediss://, sentinel://, rpc://, cache+memory://, django-db)`);
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
