/**
 * The worker's connections as Celery's worker makes them: the first broker connection retried
 * with broker_connection_retry_on_startup / broker_connection_max_retries and kombu's waits,
 * logged with Celery's lines (celery/worker/consumer/consumer.py CONNECTION_ERROR,
 * CONNECTION_RETRY_STEP, CONNECTION_RETRY; connection.py `Connected to %s`), and the state of
 * the running broker and result backend connections logged once per change.
 */
import type { AppContext } from "../app-context";
import type { ResultBackend } from "../backend/types";
import type { Logger } from "../logging";
import type { Transport } from "../transport/types";
import { ensureConnected, type RetryPolicy, type RetryStep } from "../connectivity/retry";
import type { ConnectionStateEvent } from "../connectivity/state";
import { maskUrl } from "../connectivity/url";
import { pyStrRepr } from "../protocol/repr";

/** Celery's retry policy of a worker's first connection, from the app's settings. */
export function startupRetryPolicy(app: AppContext): RetryPolicy {
  const c = app.conf;
  return { retry: c.brokerConnectionRetryOnStartup ?? c.brokerConnectionRetry, maxRetries: c.brokerConnectionMaxRetries };
}

/**
 * Connect the broker, then the result backend, retrying each per the startup policy while
 * logging Celery's `consumer: Cannot connect to <url>: <reason>.` + `Trying again in 2.00
 * seconds... (1/100)`, then `Connected to <url>`. Gives up with a ConnectionGiveUp (masked URL,
 * reason) after logging it as CRITICAL `Unrecoverable error: ...`, as Celery does.
 */
export async function connectWorker(app: AppContext, logger: Logger, stopped: () => boolean): Promise<{ transport: Transport; backend: ResultBackend }> {
  const policy = startupRetryPolicy(app);
  try {
    const onBrokerRetry = (step: RetryStep): void =>
      logger.error(`consumer: Cannot connect to ${step.failure.url}: ${step.failure.reason}.\n${step.text}`);
    logger.debug(`consumer: Connecting to broker ${maskUrl(app.conf.broker)}`);
    const transport = await ensureConnected(app.conf.broker, () => app.connection({ retry: false }), policy, onBrokerRetry, stopped);
    logger.info(`Connected to ${maskUrl(transport.currentUrl ?? app.conf.broker)}`);
    if (app.conf.backend) logger.debug(`result backend: Connecting to ${maskUrl(app.conf.backend)}`);
    const onBackendRetry = (step: RetryStep): void =>
      logger.error(`result backend: Cannot connect to ${step.failure.url}: ${step.failure.reason}.\n${step.text}`);
    const backend = await ensureConnected(app.conf.backend ?? "", () => app.backend(), policy, onBackendRetry, stopped);
    if (app.conf.backend) logger.debug(`result backend: Connected to ${maskUrl(app.conf.backend)}`);
    return { transport, backend };
  } catch (err) {
    logger.log("CRITICAL", `Unrecoverable error: ${(err as Error).message}`);
    throw err;
  }
}

/**
 * Log the running broker and backend connections' state changes: loss (Celery's `consumer:
 * Connection to broker lost. Trying to re-establish the connection...`), a reconnect failing for
 * a new reason, and `Connected to <url>` once back. Returns the removal of the listeners.
 */
export function logConnectionStates(transport: Transport, backend: ResultBackend, logger: Logger): () => void {
  const offs = [
    transport.onConnectionState?.((e) => logState(logger, "consumer: ", "broker", e)),
    // rpc:// shares the broker connection: nothing of its own to follow.
    backend.onConnectionState?.((e) => logState(logger, "result backend: ", "result backend", e)),
  ];
  return () => offs.forEach((off) => off?.());
}

function logState(logger: Logger, prefix: string, what: string, event: ConnectionStateEvent): void {
  switch (event.state) {
    case "lost":
      logger.warn(`${prefix}Connection to ${what} lost. Trying to re-establish the connection... (ConnectionError(${pyStrRepr(event.reason)}))`);
      return;
    case "failed":
      logger.error(`${prefix}Cannot connect to ${event.url}: ${event.reason}.\nTrying to reconnect...`);
      return;
    case "connected":
      logger.info(`${prefix === "consumer: " ? "" : prefix}Connected to ${event.url}`);
  }
}
