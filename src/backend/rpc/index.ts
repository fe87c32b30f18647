/**
 * Celery's `rpc://` result backend (docs/protocol.md §6.1, §7.9), built on the broker `Transport` so that it
 * works with every broker (Redis: list `<oid>` via the anonymous exchange; AMQP: queue `<oid>`).
 *
 * Worker side (`store`): one message per state change to the default exchange `""` with routing
 * key = the request's `reply_to` and `correlation_id` = its correlation id; body (5.2)
 * `{"task_id", "status", "result", "traceback", "children"}` serialized with `result_serializer`;
 * `delivery_mode` 1 (2 when persistent); empty headers; priority 0. Nothing is sent without a
 * `reply_to`.
 *
 * Client side: the reply queue `<oid>` (not durable, auto-delete, `x-expires` = result_expires in
 * ms, on the default exchange) is declared before a task is sent (`watch`, Celery's
 * `on_task_call`) and consumed without acks. Messages are matched by `correlation_id`; only the
 * latest state per task is kept (a SUCCESS is never replaced), whether or not anybody waits for
 * it yet, so a later `get`/`waitForReady` finds it.
 *
 * Results only reach the client that sent the task: waiting for a task sent by another client
 * waits until the timeout (as in Celery). Groups and chords are not supported; `forget` only drops
 * the locally kept state.
 */
import type { ResultBackend, ResultRoute } from "../types";
import type { Consumer, Delivery, QueueDeclaration, Transport } from "../../transport/types";
import { isWireObject } from "../../protocol/message";
import type { RawMessage, WireObject } from "../../protocol/message";
import type { GroupMeta, ResultMeta } from "../../protocol/result-meta";
import { READY_STATES, assertResultMeta, isResultTupleList } from "../../protocol/result-meta";
import { waitOnce } from "../waiter";
import type { Waiter } from "../waiter";
import { encodeBody, decodeMessageBody } from "../../protocol";
import type { AuthCodec, SerializerName } from "../../protocol/serializers";

export { isRpcBackendUrl } from "./url";

/** Celery's error for chords and groups on rpc:// (`E_NO_CHORD_SUPPORT`, `save_group`, ...). */
export class RpcNotSupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotImplementedError";
  }
}

/** Rejection of `waitForReady` when the timeout passes (name "TimeoutError", as the Redis backend's). */
export class RpcResultTimeoutError extends Error {
  constructor(taskId: string, timeoutMs: number, oid: string) {
    super(
      `The operation timed out waiting for the result of task ${taskId} (${timeoutMs} ms). ` +
        `rpc:// delivers a result only to the client that sent the task (to its reply_to); this client receives on '${oid}'.`,
    );
    this.name = "TimeoutError";
  }
}

/**
 * Why chords (and groups chained with a task, which become chords) fail on rpc://: Celery's
 * `E_NO_CHORD_SUPPORT`, word for word (stripped, as Celery raises it).
 */
export const E_NO_CHORD_SUPPORT = [
  'The "rpc" result backend does not support chords!',
  "",
  "Note that a group chained with a task is also upgraded to be a chord,",
  "as this pattern requires synchronization.",
  "",
  "Result backends that supports chords: Redis, Database, Memcached, and more.",
].join("\n");

/** Celery's `MESSAGE_BUFFER_MAX`: how many tasks' states are kept at most. */
export const DEFAULT_MAX_BUFFERED = 8192;

export interface RpcBackendOptions {
  /** The app's broker connection (shared; the backend never closes it). */
  connection: () => Promise<Transport>;
  /** This client's id: the name of its reply queue and the `reply_to` of what it sends. */
  oid: string;
  /** result_expires in seconds (86400 by default): the reply queue's `x-expires`. null/0 = none. */
  resultExpires?: number | null;
  /** result_serializer (default json). */
  serializer?: SerializerName;
  /** Content types accepted when reading replies (default ["json"]). */
  accept?: readonly string[];
  /** Signs replies (serializer "auth") and verifies signed ones (the app's `setupSecurity()`). */
  auth?: AuthCodec | null;
  /** result_persistent: delivery_mode 2 instead of 1. */
  persistent?: boolean;
  /** How many tasks' latest states are kept for later reads (oldest unwaited dropped first). */
  maxBuffered?: number;
  /** Called with replies that cannot be read (default: ignored). */
  onError?: (error: Error) => void;
}

/** The reply queue declaration: kombu `Queue(oid, Exchange(None), oid, durable=False, auto_delete=True, expires=...)`. */
export function rpcReplyQueue(oid: string, resultExpires: number | null | undefined = 86400): QueueDeclaration {
  const q: QueueDeclaration = { name: oid, exchange: "", routingKey: oid, durable: false, autoDelete: true };
  if (resultExpires) q.expires = Math.trunc(resultExpires * 1000);
  return q;
}

/** The 5.2 reply body, in Celery's key order. */
export function rpcResultBody(taskId: string, meta: ResultMeta): WireObject {
  return {
    task_id: taskId,
    status: meta.status,
    result: meta.result,
    traceback: meta.traceback ?? null,
    children: meta.children ?? [],
  };
}

/** The message the worker publishes for one state (before the transport adds its envelope). */
export function encodeRpcResult(
  taskId: string,
  meta: ResultMeta,
  route: ResultRoute,
  options: { serializer?: SerializerName; persistent?: boolean; auth?: AuthCodec | null } = {},
): RawMessage {
  const body = encodeBody(rpcResultBody(taskId, meta), options.serializer ?? "json", null, options.auth);
  return {
    body: body.body,
    contentType: body.contentType,
    contentEncoding: body.contentEncoding,
    headers: {},
    properties: {
      correlation_id: route.correlationId || taskId,
      delivery_mode: options.persistent ? 2 : 1,
      priority: 0,
    },
  };
}

/** Reads one reply (verified with `auth` when signed): the task id it answers (correlation_id, else body task_id) and its meta. */
export function decodeRpcResult(message: RawMessage, accept: readonly string[], auth?: AuthCodec | null): { taskId: string; meta: ResultMeta } {
  const payload = decodeMessageBody(message, accept, undefined, auth);
  if (!isWireObject(payload)) throw new Error("rpc:// reply body is not a mapping");
  const corr = message.properties.correlation_id;
  const taskId = typeof corr === "string" && corr ? corr : typeof payload.task_id === "string" ? payload.task_id : "";
  if (!taskId) throw new Error("rpc:// reply has neither correlation_id nor task_id");
  if (typeof payload.status !== "string") throw new Error(`rpc:// reply for ${taskId} has no status`);
  const meta: WireObject = {
    ...payload,
    status: payload.status,
    result: payload.result === undefined ? null : payload.result,
    traceback: typeof payload.traceback === "string" ? payload.traceback : null,
    children: isResultTupleList(payload.children) ? payload.children : [],
    date_done: typeof payload.date_done === "string" ? payload.date_done : null,
    task_id: typeof payload.task_id === "string" ? payload.task_id : taskId,
  };
  assertResultMeta(meta, (key) => new Error(`rpc:// reply for ${taskId} has a malformed ${key}`));
  return { taskId, meta };
}


export class RpcBackend implements ResultBackend {
  readonly name = "rpc";
  readonly oid: string;
  readonly replyQueue: QueueDeclaration;
  private readonly connection: () => Promise<Transport>;
  private readonly serializer: SerializerName;
  private readonly accept: readonly string[];
  private readonly auth: AuthCodec | null;
  private readonly persistent: boolean;
  private readonly maxBuffered: number;
  private readonly onError: (error: Error) => void;
  /** Latest state per task id, oldest first. */
  private readonly states = new Map<string, ResultMeta>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** Followers (`follow`) by task id: every reply received for it. */
  private readonly followers = new Map<string, Set<(meta: ResultMeta) => void>>();
  private consuming: Promise<void> | null = null;
  private consumer: Consumer | null = null;
  private closed = false;

  constructor(options: RpcBackendOptions) {
    this.connection = options.connection;
    this.oid = options.oid;
    this.replyQueue = rpcReplyQueue(options.oid, options.resultExpires === undefined ? 86400 : options.resultExpires);
    this.serializer = options.serializer ?? "json";
    this.accept = options.accept ?? ["json"];
    this.auth = options.auth ?? null;
    this.persistent = options.persistent ?? false;
    this.maxBuffered = Math.max(1, options.maxBuffered ?? DEFAULT_MAX_BUFFERED);
    this.onError = options.onError ?? (() => undefined);
  }

  async connect(): Promise<void> {
    if (this.closed) throw new Error("RpcBackend is closed");
    await this.connection();
  }

  /** Stops consuming and rejects waiters. The shared broker connection stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const set of this.waiters.values()) {
      for (const w of [...set]) w.reject(new Error("RpcBackend closed while waiting for a result"));
    }
    this.waiters.clear();
    this.followers.clear();
    this.states.clear();
    const consuming = this.consuming;
    this.consuming = null;
    await consuming?.catch(() => undefined);
    const consumer = this.consumer;
    this.consumer = null;
    await consumer?.cancel().catch(() => undefined);
  }

  // ------------------------------------------------------------------ worker side

  /** Publish the state to the request's reply_to (nothing when it has none, as Celery). */
  async store(taskId: string, meta: ResultMeta, route?: ResultRoute): Promise<void> {
    if (!route || !route.replyTo) return;
    const transport = await this.connection();
    const message = encodeRpcResult(taskId, meta, route, { serializer: this.serializer, persistent: this.persistent, auth: this.auth });
    await transport.publish(message, { exchange: "", routingKey: route.replyTo });
  }

  // ------------------------------------------------------------------ client side

  /** Declare the reply queue and start consuming it (once); retried after a failure. */
  private ensureConsuming(): Promise<void> {
    if (this.closed) return Promise.reject(new Error("RpcBackend is closed"));
    if (!this.consuming) {
      const consuming = (async () => {
        const transport = await this.connection();
        await transport.declareQueue(this.replyQueue);
        const consumer = await transport.consume({
          queues: [this.oid],
          noAck: true,
          hasCapacity: () => true,
          onDelivery: (d) => this.onDelivery(d),
          onTransportError: (err) => this.onError(err),
        });
        if (this.closed) {
          await consumer.cancel().catch(() => undefined);
          return;
        }
        this.consumer = consumer;
      })();
      this.consuming = consuming;
      consuming.catch(() => {
        if (this.consuming === consuming) this.consuming = null;
      });
    }
    return this.consuming;
  }

  /** Celery's `on_task_call`: the reply queue exists (and is consumed) once this resolves. */
  watch(_taskId: string): Promise<void> {
    return this.ensureConsuming();
  }

  private onDelivery(delivery: Delivery): void {
    delivery.ack().catch(() => undefined);
    let reply: { taskId: string; meta: ResultMeta };
    try {
      reply = decodeRpcResult(delivery.message, this.accept, this.auth);
    } catch (err) {
      this.onError(err as Error);
      return;
    }
    this.record(reply.taskId, reply.meta);
  }

  /** Keep the latest state (never replacing a SUCCESS), tell followers, and wake waiters on a ready state. */
  private record(taskId: string, meta: ResultMeta): void {
    const prev = this.states.get(taskId);
    if (prev && prev.status === "SUCCESS" && meta.status !== "SUCCESS") return;
    this.states.delete(taskId);
    this.states.set(taskId, meta);
    if (this.states.size > this.maxBuffered) this.evict();
    const followers = this.followers.get(taskId);
    if (followers) for (const listener of [...followers]) listener(meta);
    if (!READY_STATES.has(meta.status)) return;
    const set = this.waiters.get(taskId);
    if (set) for (const w of [...set]) w.resolve(meta);
  }

  /** Drop the oldest states nobody waits for. */
  private evict(): void {
    for (const id of this.states.keys()) {
      if (this.states.size <= this.maxBuffered) return;
      if (!this.waiters.has(id) && !this.followers.has(id)) this.states.delete(id);
    }
  }

  /** The latest state received for the task, or null (PENDING). */
  async get(taskId: string): Promise<ResultMeta | null> {
    await this.ensureConsuming();
    return this.states.get(taskId) ?? null;
  }

  waitForReady(taskId: string, timeoutMs: number | null): Promise<ResultMeta> {
    const release = (waiter: Waiter): void => {
      const set = this.waiters.get(taskId);
      if (!set) return;
      set.delete(waiter);
      if (set.size === 0) this.waiters.delete(taskId);
    };
    return waitOnce(timeoutMs, () => new RpcResultTimeoutError(taskId, timeoutMs ?? 0, this.oid), release, (waiter) => {
      const known = this.states.get(taskId);
      if (known && READY_STATES.has(known.status)) return waiter.resolve(known);
      let set = this.waiters.get(taskId);
      if (!set) this.waiters.set(taskId, (set = new Set()));
      set.add(waiter);
      this.ensureConsuming().catch((err: Error) => waiter.reject(err));
    });
  }

  /**
   * Every reply received for the task from now on (see ResultBackend.follow), after the latest
   * one received before, unless a newer one arrives first.
   */
  follow(taskId: string, listener: (meta: ResultMeta) => void, onError: (err: Error) => void): () => void {
    let heard = false;
    let stopped = false;
    const each = (meta: ResultMeta): void => {
      heard = true;
      listener(meta);
    };
    let set = this.followers.get(taskId);
    if (!set) this.followers.set(taskId, (set = new Set()));
    set.add(each);
    this.ensureConsuming().then(
      () => {
        const known = this.states.get(taskId);
        if (known && !heard && !stopped) each(known);
      },
      (err: Error) => {
        if (!stopped) onError(err);
      },
    );
    return () => {
      if (stopped) return;
      stopped = true;
      const current = this.followers.get(taskId);
      current?.delete(each);
      if (current?.size === 0) this.followers.delete(taskId);
    };
  }

  /** Celery's rpc backend cannot delete a sent result; this drops the state kept by this client. */
  async forget(taskId: string): Promise<void> {
    this.states.delete(taskId);
  }

  // ------------------------------------------------------------------ groups (unsupported)

  async saveGroup(_groupId: string, _meta: GroupMeta): Promise<void> {
    throw new RpcNotSupportedError("save_group is not supported by this backend.");
  }

  async restoreGroup(_groupId: string): Promise<GroupMeta | null> {
    throw new RpcNotSupportedError("restore_group is not supported by this backend.");
  }

  async deleteGroup(_groupId: string): Promise<void> {
    throw new RpcNotSupportedError("delete_group is not supported by this backend.");
  }

  /** Celery's `ensure_chords_allowed`: always throws. */
  ensureChordsAllowed(): never {
    throw new RpcNotSupportedError(E_NO_CHORD_SUPPORT);
  }
}
