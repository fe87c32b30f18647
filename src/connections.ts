/** Build transports and backends from URLs. */
import type { CeleryConfig } from "./config";
import type { Transport } from "./transport/types";
import type { ResultBackend } from "./backend/types";
import type { ResultMeta, GroupMeta } from "./protocol/result-meta";
import { RedisTransport } from "./transport/redis";
import { RedisBackend } from "./backend/redis";

/** The transport for the broker URL (redis://, rediss://). */
export function createTransport(config: CeleryConfig): Transport {
  const url = config.broker;
  if (/^rediss?:\/\//.test(url)) return new RedisTransport(url, config.brokerTransportOptions);
  throw new Error(`unsupported broker URL: ${url} (supported: redis://, rediss://)`);
}

/** The result backend for the backend URL, or a disabled backend when none is configured. */
export function createBackend(config: CeleryConfig): ResultBackend {
  const url = config.backend;
  if (!url) return new DisabledBackend();
  if (/^rediss?:\/\//.test(url)) {
    return new RedisBackend(url, {
      resultExpires: config.resultExpires,
      keyPrefix: config.resultBackendTransportOptions.globalKeyprefix,
    });
  }
  throw new Error(`unsupported result backend URL: ${url} (supported: redis://, rediss://)`);
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
