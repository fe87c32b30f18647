/** Turns (name, args, kwargs, options) into a published task message: options layered, routed, encoded. */
import { hostname } from "node:os";
import { randomUUID as uuid4 } from "node:crypto";
import type { CeleryConfig, Route } from "../config";
import type { LamportClock } from "../events/clock";
import { EventDispatcher } from "../events/dispatcher";
import { encodeTask } from "../protocol/encode";
import type { OutgoingTask, TaskSpec } from "../protocol/encode";
import type { RawMessage, SignatureDict, WireObject, WireValue } from "../protocol/message";
import type { AuthCodec } from "../protocol/serializers";
import { toSignatureDict } from "../protocol/signature";
import { argsRepr, kwargsRepr } from "../protocol/repr";
import { decodeMessageBody } from "../protocol/decode";
import type { SignatureInput } from "../protocol/signature";
import type { Transport, QueueDeclaration } from "../transport/types";
import type { WorkerSignals } from "../signals";
import { startPublishSpan } from "../telemetry/spans";
import type { PublishSpan } from "../telemetry/spans";
import type { ApplyOptions } from "./options";
import { resolveRoute } from "./routes";

/** `gen<pid>@<host>`: Celery's name for a producing process. */
export const ORIGIN = `gen${process.pid}@${hostname()}`;

function toDate(value: Date | string): Date {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error(`invalid date: ${String(value)}`);
  return d;
}

function asList(value: SignatureInput | SignatureInput[] | undefined): SignatureDict[] | null {
  if (value === undefined) return null;
  return (Array.isArray(value) ? value : [value]).map(toSignatureDict);
}

/** Where a message for `taskName` goes, after call options, taskRoutes and defaults. */
export function routeFor(config: CeleryConfig, taskName: string, options: ApplyOptions): Required<Pick<Route, "queue">> & Route {
  const routed = resolveRoute(config.taskRoutes, taskName) ?? {};
  const queue = options.queue ?? routed.queue ?? config.taskDefaultQueue;
  return {
    queue,
    exchange: options.exchange ?? routed.exchange,
    routingKey: options.routingKey ?? routed.routingKey,
    priority: options.priority ?? routed.priority ?? config.taskDefaultPriority ?? undefined,
  };
}

/** Build the protocol-level task spec for a call. */
export function buildTaskSpec(
  config: CeleryConfig,
  replyTo: string,
  taskName: string,
  args: WireValue[],
  kwargs: WireObject,
  options: ApplyOptions,
  priority: number | undefined,
): TaskSpec {
  const id = options.taskId ?? uuid4();
  const now = Date.now();
  const eta = options.eta !== undefined ? toDate(options.eta) : options.countdown !== undefined ? new Date(now + options.countdown * 1000) : null;
  // Seconds stay seconds so the AMQP `expiration` is exactly them, as in Celery's send_task.
  const expires = options.expires === undefined ? null : typeof options.expires === "number" ? options.expires : toDate(options.expires);
  return {
    id,
    task: taskName,
    args,
    kwargs,
    embed: {
      callbacks: asList(options.link),
      errbacks: asList(options.linkError),
      chain: options.chain ?? null,
      chord: options.chord ? toSignatureDict(options.chord) : null,
    },
    eta,
    expires,
    group: options.groupId ?? null,
    groupIndex: options.groupIndex ?? null,
    retries: options.retries ?? 0,
    timelimit: [options.timeLimit ?? null, options.softTimeLimit ?? null],
    rootId: options.rootId ?? id,
    parentId: options.parentId ?? null,
    shadow: options.shadow ?? null,
    argsrepr: options.argsrepr,
    kwargsrepr: options.kwargsrepr,
    origin: ORIGIN,
    ignoreResult: options.ignoreResult ?? false,
    replyTo: options.replyTo ?? replyTo,
    priority: priority ?? 0,
    headers: options.headers,
  };
}

/** Where a task message was published: the `queue`, `exchange`, `routing_key` of its task-sent event. */
export interface PublishedTo {
  queue: string;
  exchange: string;
  routingKey: string;
}

/**
 * The fields of Celery's `task-sent` event (`amqp.as_task_v2` + `send_task_message`), taken from
 * the encoded message's headers: uuid, root_id, parent_id, name, args and kwargs (the reprs),
 * retries, eta, expires (ISO strings or null), then queue, exchange, routing_key as published.
 * A protocol v1 message has no task headers: its fields are read from `spec` (Celery's v1
 * sent_event has no root_id or parent_id).
 */
export function taskSentFields(message: RawMessage, to: PublishedTo, spec?: TaskSpec): WireObject {
  const h: RawMessage["headers"] =
    message.headers.task === undefined && spec
      ? { id: spec.id, task: spec.task, argsrepr: argsRepr(spec.args), kwargsrepr: kwargsRepr(spec.kwargs), retries: spec.retries ?? 0, eta: v1Body(message).eta, expires: v1Body(message).expires }
      : message.headers;
  return {
    uuid: h.id ?? null,
    root_id: h.root_id ?? null,
    parent_id: h.parent_id ?? null,
    name: h.task ?? null,
    args: h.argsrepr ?? null,
    kwargs: h.kwargsrepr ?? null,
    retries: h.retries ?? 0,
    eta: h.eta ?? null,
    expires: h.expires ?? null,
    queue: to.queue,
    exchange: to.exchange,
    routing_key: to.routingKey,
  };
}

/** The eta and expires of a v1 body this producer encoded. */
function v1Body(message: RawMessage): { eta: WireValue; expires: WireValue } {
  const body = decodeMessageBody(message, [message.contentType]) as { eta?: WireValue; expires?: WireValue } | null;
  return { eta: body?.eta ?? null, expires: body?.expires ?? null };
}

/** One task message to send: what `Producer.send` takes. */
export interface ProducerCall {
  name: string;
  args: WireValue[];
  kwargs: WireObject;
  options: ApplyOptions;
}

/** An encoded call, ready to publish. */
interface Outgoing {
  id: string;
  raw: RawMessage;
  spec: TaskSpec;
  to: PublishedTo;
  priority: number | undefined;
  declaration: QueueDeclaration;
  /** Its headers and body as sent (for afterTaskPublish). */
  sent: OutgoingTask | null;
  /** Its `apply_async/<task>` span, when tracing (telemetry/spans.ts). */
  span: PublishSpan | null;
}

/** Publishes task messages on one transport, declaring each queue once like Python's producer. */
export class Producer {
  private readonly declared = new Map<string, Promise<void>>();
  /** Queues whose declaration has completed: sending to them waits for nothing. */
  private readonly declaredDone = new Set<string>();
  private events: EventDispatcher | null = null;

  /** `clock`: the app's Lamport clock, forwarded by task-sent events (Celery's `app.clock`). */
  constructor(
    private readonly transport: Transport,
    private readonly config: CeleryConfig,
    private readonly replyTo: string,
    private readonly clock?: LamportClock,
    /** Signs bodies when the task serializer is `auth` (the app's `setupSecurity()`). */
    private readonly auth: AuthCodec | null = null,
    /** The app's signals: beforeTaskPublish / afterTaskPublish fire there. */
    private readonly signals: WorkerSignals | null = null,
  ) {}

  /** Celery's default event dispatcher of `app.amqp`: node `gen<pid>@<host>`, the app's clock and event serializer. */
  private dispatcher(): EventDispatcher {
    this.events ??= new EventDispatcher(this.transport, { hostname: ORIGIN, clock: this.clock, serializer: this.config.eventSerializer });
    return this.events;
  }

  private declare(queue: QueueDeclaration): Promise<void> {
    let p = this.declared.get(queue.name);
    if (!p) {
      p = this.transport.declareQueue(queue);
      this.declared.set(queue.name, p);
      p.then(
        () => this.declaredDone.add(queue.name),
        () => this.declared.delete(queue.name),
      );
    }
    return p;
  }

  /** Encode and publish; resolves with the task id once the broker accepted the message. */
  async send(taskName: string, args: WireValue[], kwargs: WireObject, options: ApplyOptions): Promise<string> {
    const [id] = await this.sendMany([{ name: taskName, args, kwargs, options }]);
    return id;
  }

  /**
   * Encode every call and publish them together (one broker round trip where the transport has
   * `publishMany`, else concurrent publishes); resolves with their task ids, in order, once the
   * broker accepted every message.
   */
  async sendMany(calls: readonly ProducerCall[]): Promise<string[]> {
    const out: Outgoing[] = [];
    try {
      for (const c of calls) out.push(this.prepare(c));
    } catch (err) {
      for (const o of out) o.span?.end(err);
      throw err;
    }
    const declaring = out.filter((o) => !this.declaredDone.has(o.declaration.name)).map((o) => this.declare(o.declaration));
    if (declaring.length > 0) await Promise.all(declaring);
    const items = out.map((o) => ({ message: o.raw, target: { exchange: o.to.exchange, routingKey: o.to.routingKey, priority: o.priority } }));
    try {
      if (items.length === 1) await this.transport.publish(items[0].message, items[0].target);
      else if (this.transport.publishMany) await this.transport.publishMany(items);
      else await Promise.all(items.map((i) => this.transport.publish(i.message, i.target)));
    } catch (err) {
      for (const o of out) o.span?.end(err);
      throw err;
    }
    for (const o of out) o.span?.end();
    if (this.signals && this.signals.listenerCount("afterTaskPublish") > 0) {
      for (const o of out) {
        if (o.sent) this.signals.emit("afterTaskPublish", { sender: o.sent.headers.task, body: o.sent.body, headers: o.sent.headers, exchange: o.to.exchange, routingKey: o.to.routingKey });
      }
    }
    // task_send_sent_event: as Celery, the event follows the publish (best effort: never fails the send).
    if (this.config.taskSendSentEvent) await Promise.all(out.map((o) => this.dispatcher().send("task-sent", taskSentFields(o.raw, o.to, o.spec))));
    return out.map((o) => o.id);
  }

  /** Route and encode one call (no I/O). */
  private prepare(call: ProducerCall): Outgoing {
    const { name, args, kwargs, options } = call;
    const route = routeFor(this.config, name, options);
    const spec = buildTaskSpec(this.config, this.replyTo, name, args, kwargs, options, route.priority);
    const exchange = route.exchange ?? route.queue;
    const routingKey = route.routingKey ?? route.queue;
    // Celery publishes direct routes through the anonymous exchange with routing key = queue.
    const direct = exchange === route.queue;
    const to: PublishedTo = { queue: route.queue, exchange: direct ? "" : exchange, routingKey: direct ? route.queue : routingKey };
    const declaration: QueueDeclaration = { name: route.queue, exchange, routingKey };
    const signals = this.signals && this.signals.listenerCount("beforeTaskPublish") > 0 ? this.signals : null;
    const made: { sent: OutgoingTask | null; span: PublishSpan | null } = { sent: null, span: null };
    let raw: RawMessage;
    try {
      raw = encodeTask(spec, {
        serializer: options.serializer ?? this.config.taskSerializer,
        compression: options.compression ?? this.config.taskCompression,
        protocolExtras: this.config.taskProtocolExtras,
        auth: this.auth,
        protocol: this.config.taskProtocol,
        beforeSerialize: (m) => {
          // As Python's instrumentation (a before_task_publish receiver): the span's context goes into the headers.
          made.span = startPublishSpan(m.headers, { id: spec.id, task: name, exchange: to.exchange, routingKey: to.routingKey });
          made.sent = m;
          signals?.emit("beforeTaskPublish", { sender: name, body: m.body, exchange: to.exchange, routingKey: to.routingKey, headers: m.headers, properties: m.properties, declare: [declaration] });
        },
      });
    } catch (err) {
      made.span?.end(err);
      throw err;
    }
    return { id: spec.id, raw, spec, to, priority: spec.priority ?? undefined, declaration, sent: made.sent, span: made.span };
  }
}
