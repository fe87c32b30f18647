/**
 * Options of the AMQP transport, with Celery's / kombu's defaults where Celery has the setting.
 * `createTransport` fills them from CeleryConfig (broker_heartbeat, broker_connection_retry,
 * broker_connection_max_retries, broker_connection_timeout, task_queue_max_priority,
 * task_default_queue_type, broker_transport_options.confirm_publish / publish_timeout).
 */
import type { ConnectionOptions as TlsOptions } from "node:tls";
import { redactText } from "../../redact";
import type { FailoverStrategy } from "../../connectivity/failover";

export interface AmqpTransportOptions {
  /** Heartbeat in seconds (broker_heartbeat; Celery: 120). 0 disables. URL `?heartbeat=` wins. */
  heartbeat?: number;
  /** Reconnect after a lost connection, and retry the first connect (broker_connection_retry; true). */
  connectionRetry?: boolean;
  /** Connect attempts in a row before giving up (broker_connection_max_retries; 100; null = forever). */
  connectionMaxRetries?: number | null;
  /** Seconds to wait for the TCP/TLS connect + AMQP handshake (broker_connection_timeout; 4). */
  connectionTimeout?: number;
  /** Backoff between connect attempts in seconds: start, step, max (kombu ensure_connection-like). */
  retryIntervalStart?: number;
  retryIntervalStep?: number;
  retryIntervalMax?: number;
  /**
   * Publisher confirms (broker_transport_options.confirm_publish). Default TRUE here (kombu: false):
   * publish() resolves only after RabbitMQ confirmed the message.
   */
  confirmPublish?: boolean;
  /**
   * Seconds a publish may wait for the broker during an outage (reconnects included) before it
   * fails with PublishTimeoutError (default 30). A publish never silently drops a message.
   */
  publishTimeout?: number;
  /** x-max-priority of declared task queues (task_queue_max_priority; default none). */
  queueMaxPriority?: number | null;
  /** x-queue-type of declared task queues (task_default_queue_type; "classic"). */
  defaultQueueType?: "classic" | "quorum";
  /**
   * basic.qos prefetch_count when ConsumeOptions gives none (ConsumeOptions.prefetch, else the
   * initial ConsumeOptions.capacity()). Default 4.
   */
  prefetchCount?: number;
  /**
   * basic.qos global flag (Celery: true on RabbitMQ, i.e. one window shared by the channel's
   * consumers). Unset (the default): the window is the single consumer's until it changes, then
   * the channel's (the same bound; see consumer.ts), and the consumer's when a consumed queue is
   * a quorum queue (global is not supported there; detectQuorumQueues). true: always the
   * channel's (refused with a quorum queue); false: always each consumer's.
   */
  globalQos?: boolean;
  /**
   * worker_detect_quorum_queues (Celery 5.5+; default true): global QoS is off when a consumed
   * queue is a quorum queue. false keeps it on, and RabbitMQ refuses the consumer.
   */
  detectQuorumQueues?: boolean;
  /** Extra TLS options for amqps:// (ca, cert, key, rejectUnauthorized, servername, ...); they win over `ssl`'s. */
  tls?: TlsOptions;
  /**
   * TLS from broker_use_ssl (createTransport builds it): node:tls options, called at each connect
   * attempt. Given, the link is TLS even for amqp:// (port 5671 unless the URL has one), as kombu.
   */
  ssl?: () => TlsOptions;
  /** Which URL of a `;`-separated list comes next after a failure (broker_failover_strategy; "round-robin"). */
  failoverStrategy?: FailoverStrategy | null;
  /** Warnings (passive declare fallback, reconnects). Default: console.warn. */
  onWarning?: (message: string) => void;
}

export interface ResolvedAmqpTransportOptions {
  heartbeat: number;
  connectionRetry: boolean;
  connectionMaxRetries: number | null;
  connectionTimeout: number;
  retryIntervalStart: number;
  retryIntervalStep: number;
  retryIntervalMax: number;
  confirmPublish: boolean;
  publishTimeout: number;
  queueMaxPriority: number | null;
  defaultQueueType: "classic" | "quorum";
  prefetchCount: number;
  globalQos: boolean | null;
  detectQuorumQueues: boolean;
  tls: TlsOptions;
  ssl: (() => TlsOptions) | null;
  failoverStrategy: FailoverStrategy;
  onWarning: (message: string) => void;
}

export function resolveAmqpOptions(options: AmqpTransportOptions = {}): ResolvedAmqpTransportOptions {
  const o = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as AmqpTransportOptions;
  return {
    heartbeat: o.heartbeat ?? 120,
    connectionRetry: o.connectionRetry ?? true,
    connectionMaxRetries: o.connectionMaxRetries === undefined ? 100 : o.connectionMaxRetries,
    connectionTimeout: o.connectionTimeout ?? 4,
    retryIntervalStart: o.retryIntervalStart ?? 0.5,
    retryIntervalStep: o.retryIntervalStep ?? 1,
    retryIntervalMax: o.retryIntervalMax ?? 5,
    confirmPublish: o.confirmPublish ?? true,
    publishTimeout: o.publishTimeout ?? 30,
    queueMaxPriority: o.queueMaxPriority ?? null,
    defaultQueueType: o.defaultQueueType ?? "classic",
    prefetchCount: o.prefetchCount ?? 4,
    globalQos: o.globalQos ?? null,
    detectQuorumQueues: o.detectQuorumQueues ?? true,
    tls: o.tls ?? {},
    ssl: o.ssl ?? null,
    failoverStrategy: o.failoverStrategy ?? "round-robin",
    // eslint-disable-next-line no-console -- the documented default when the caller gives no onWarning
    onWarning: o.onWarning ?? ((m) => console.warn(`celeriac amqp: ${redactText(m)}`)),
  };
}
