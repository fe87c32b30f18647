/**
 * Remote-control commands of the worker (Celery `celery/worker/control.py` semantics, docs/protocol.md §10.3):
 * method name → handler(state, arguments) → reply value (sent back as `{<nodename>: value}`).
 * A handler that throws is answered `{"error": "<repr of the error>"}` by the pidbox.
 */
import { cpus, hostname as osHostname, release as osRelease, arch as osArch } from "node:os";
import type { AppContext } from "../../app-context";
import { DEFAULTS } from "../../config";
import { celerySettingName } from "../../settings-names";
import type { LamportClock } from "../../events/clock";
import { isoformatUtc } from "../../protocol/isotime";
import type { WireValue } from "../../protocol/message";
import { pyFloat } from "../../protocol/serializers/json";
import { pyRepr, pyStr, pyStrRepr } from "../../protocol/repr";
import { filterHiddenSettings, sanitizeUrl } from "../../redact";
import type { Transport } from "../../transport/types";
import { parseRate } from "../rate";
import type { Request } from "../request";
import { stampHeadersFrom } from "../revoked-stamps";
import type { ControlledWorker } from "../worker-types";

/** What the handlers work on. */
export interface ControlState {
  app: AppContext;
  worker: ControlledWorker;
  transport: Transport;
  clock: LamportClock;
  /** Unix ms when the worker started. */
  startedAt: number;
  /** Task events on/off and an immediate heartbeat (null when the worker sends no events). */
  events: { taskEventsEnabled: boolean; setTaskEvents(on: boolean): void; heartbeat(freq: number): void } | null;
  /** Warm shutdown requested remotely. */
  shutdown(msg: string): void;
}

/** A control command: its reply value, or a Promise of it. */
export type ControlHandler = (state: ControlState, args: Record<string, WireValue>) => unknown;

/** A Python-like error whose repr is `<name>('<message>')`. */
export class ControlError extends Error {
  constructor(readonly pyName: string, message: string) {
    super(message);
  }
}

const ok = (value: unknown) => ({ ok: value });
const nok = (value: unknown) => ({ error: value });

function asList(v: WireValue | undefined): string[] {
  if (v === null || v === undefined || v === "") return [];
  if (Array.isArray(v)) return v.map(pyStr);
  return pyStr(v).split(",").map((s) => s.trim()).filter(Boolean);
}

/** Celery `Request.info(safe)`. */
export function requestInfo(state: ControlState, request: Request, safe = false): Record<string, unknown> {
  const t = request.task;
  const d = request.delivery;
  const redelivered = state.transport.name === "redis" ? (d.redelivered ? true : null) : d.redelivered;
  return {
    id: t.id,
    name: t.name,
    args: safe ? t.argsrepr : t.args,
    kwargs: safe ? t.kwargsrepr : t.kwargs,
    type: t.task,
    hostname: state.worker.hostname,
    time_start: request.timeStart === null ? null : pyFloat(request.timeStart / 1000),
    acknowledged: request.acknowledged,
    delivery_info: { exchange: d.exchange, routing_key: d.routingKey, priority: t.priority ?? 0, redelivered },
    worker_pid: request.timeStart === null ? null : (request.workerPid ?? process.pid),
  };
}

function allRequests(worker: ControlledWorker): Array<[Request, "active" | "reserved" | "scheduled"]> {
  return [
    ...worker.activeRequests.map((r) => [r, "active"] as [Request, "active"]),
    ...worker.reservedRequests.map((r) => [r, "reserved"] as [Request, "reserved"]),
    ...worker.rateLimitedRequests.map((r) => [r, "reserved"] as [Request, "reserved"]),
    ...worker.scheduledRequests.map((r) => [r, "scheduled"] as [Request, "scheduled"]),
  ];
}

function jsonish(v: unknown): boolean {
  if (v === null || ["string", "number", "boolean"].includes(typeof v)) return true;
  if (Array.isArray(v)) return v.every(jsonish);
  if (typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v).every((x) => x === undefined || jsonish(x));
  return false;
}

function confDict(app: AppContext, withDefaults: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const defaults: Record<string, unknown> = { ...DEFAULTS };
  for (const [key, value] of Object.entries({ ...app.conf })) {
    if (value === undefined || !jsonish(value)) continue;
    if (!withDefaults && JSON.stringify(defaults[key]) === JSON.stringify(value)) continue;
    out[celerySettingName(key)] = value;
  }
  return filterHiddenSettings(out);
}

function brokerInfo(app: AppContext, transport: Transport): Record<string, unknown> {
  let url: URL | null = null;
  try {
    url = new URL(app.conf.broker);
  } catch {
    url = null;
  }
  const redis = transport.name === "redis";
  return {
    hostname: url?.hostname || "127.0.0.1",
    userid: url?.username ? decodeURIComponent(url.username) : redis ? null : "guest",
    virtual_host: redis ? (url?.pathname.replace(/^\//, "") || "0") : decodeURIComponent(url?.pathname.replace(/^\//, "") || "/"),
    port: url?.port ? Number(url.port) : redis ? 6379 : 5672,
    insist: false,
    // kombu's Connection.info(): the broker_use_ssl mapping, else whether the link is TLS
    ssl: typeof app.conf.brokerUseSsl === "object" ? { ...app.conf.brokerUseSsl } : app.conf.brokerUseSsl || url?.protocol === "rediss:" || url?.protocol === "amqps:",
    transport: transport.name,
    connect_timeout: 4,
    transport_options: {},
    login_method: redis ? null : "PLAIN",
    uri_prefix: null,
    heartbeat: pyFloat(120),
    failover_strategy: "round-robin",
    alternates: [],
  };
}

function rusage(): Record<string, unknown> {
  const r = process.resourceUsage();
  return {
    utime: pyFloat(r.userCPUTime / 1e6),
    stime: pyFloat(r.systemCPUTime / 1e6),
    maxrss: r.maxRSS,
    ixrss: 0,
    idrss: 0,
    isrss: 0,
    minflt: r.minorPageFault,
    majflt: r.majorPageFault,
    nswap: r.swappedOut,
    inblock: r.fsRead,
    oublock: r.fsWrite,
    msgsnd: r.ipcSent,
    msgrcv: r.ipcReceived,
    nsignals: r.signalsCount,
    nvcsw: r.voluntaryContextSwitches,
    nivcsw: r.involuntaryContextSwitches,
  };
}

/** kombu `Queue.as_dict(recurse=True)` for a task queue of the worker. */
export function queueDict(name: string): Record<string, unknown> {
  return {
    name,
    exchange: { name, type: "direct", arguments: null, durable: true, passive: false, auto_delete: false, delivery_mode: null, no_declare: false },
    routing_key: name,
    queue_arguments: null,
    binding_arguments: null,
    consumer_arguments: null,
    durable: true,
    exclusive: false,
    auto_delete: false,
    no_ack: false,
    alias: null,
    bindings: [],
    no_declare: null,
    expires: null,
    message_ttl: null,
    max_length: null,
    max_length_bytes: null,
    max_priority: null,
  };
}

/** A control command's `signal` argument ("SIGKILL", "KILL", 9) as the worker takes it. */
function signalName(signal: WireValue | undefined): string | number | undefined {
  return typeof signal === "string" || typeof signal === "number" ? signal : undefined;
}

function revokeIds(state: ControlState, ids: string[], terminate: boolean, signal: WireValue | undefined): unknown {
  const active = new Set(state.worker.activeRequests.map((r) => r.task.id));
  state.worker.revoke(ids, { terminate, signal: signalName(signal) });
  if (terminate) {
    const terminated = ids.filter((id) => active.has(id));
    if (!terminated.length) return ok("terminate: tasks unknown");
    return ok(`terminate: ${terminated.join(", ")}`);
  }
  return ok(`tasks ${ids.join(", ")} flagged as revoked`);
}

function registered(state: ControlState, args: Record<string, WireValue>): string[] {
  const items = asList(args.taskinfoitems);
  const fields = items.length ? items : ["exchange", "routing_key", "rate_limit"];
  const names = [...state.app.tasks.keys()].filter((n) => args.builtins === true || !n.startsWith("celery.")).sort();
  return names.map((name) => {
    // The task's options with this worker's run-time overrides (rate_limit, time_limit commands).
    const options: Record<string, unknown> = { ...state.app.tasks.get(name)?.options, ...state.worker.consumer.taskOverrides(name) };
    const attrs: string[] = [];
    for (const f of fields) {
      const key = f.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
      let value = options[key];
      if (f === "exchange" || f === "routing_key") value = options[f === "exchange" ? "exchange" : "routingKey"];
      if (value !== null && value !== undefined) attrs.push(`${f}=${pyStr(value)}`);
    }
    return attrs.length ? `${name} [${attrs.join(" ")}]` : name;
  });
}

function report(state: ControlState): string {
  const conf = confDict(state.app, false);
  const lines = Object.entries(conf).map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
  return [
    "",
    `software -> celeriac node:${process.version.replace(/^v/, "")}`,
    `platform -> system:${process.platform === "linux" ? "Linux" : process.platform} arch:${osArch()}`,
    `            kernel version:${osRelease()} host:${osHostname()} cpus:${cpus().length}`,
    `settings -> transport:${state.transport.name} results:${sanitizeUrl(state.app.conf.backend ?? "disabled")}`,
    "",
    ...lines,
    "",
  ].join("\n");
}

async function addConsumer(state: ControlState, args: Record<string, WireValue>): Promise<unknown> {
  const queue = pyStr(args.queue ?? "");
  if (!queue) throw new ControlError("TypeError", "add_consumer() missing 1 required positional argument: 'queue'");
  const exchange = typeof args.exchange === "string" ? args.exchange : undefined;
  const exchangeType = args.exchange_type === "topic" || args.exchange_type === "fanout" ? args.exchange_type : "direct";
  const routingKey = typeof args.routing_key === "string" ? args.routing_key : undefined;
  const added = await state.worker.consumer.addQueue({ name: queue, exchange, exchangeType, routingKey });
  if (!added) return ok(`already consuming from ${JSON.stringify(queue).slice(1, -1)}`);
  return ok(`add consumer ${queue}`);
}

function cancelConsumer(state: ControlState, args: Record<string, WireValue>): unknown {
  const queue = pyStr(args.queue ?? "");
  state.worker.consumer.cancelQueue(queue);
  return ok(`no longer consuming from ${queue}`);
}

function timeLimit(state: ControlState, args: Record<string, WireValue>): unknown {
  const name = pyStr(args.task_name ?? "");
  if (!state.app.tasks.has(name)) return nok("unknown task");
  const seconds = (v: WireValue | undefined): number | null => (typeof v === "number" ? v : null);
  state.worker.consumer.setTimeLimits(name, seconds(args.soft), seconds(args.hard));
  return ok("time limits set successfully");
}

/** The rate_limit command's `rate_limit` argument ("10/s", 4, null; "" and 0 remove the limit); throws when invalid. */
function rateArgument(value: WireValue | undefined): string | number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "string" && typeof value !== "number") throw new Error(`invalid rate limit: ${JSON.stringify(value)}`);
  parseRate(value);
  return value || null;
}

function rateLimit(state: ControlState, args: Record<string, WireValue>): unknown {
  let rate: string | number | null;
  try {
    rate = rateArgument(args.rate_limit);
  } catch (err) {
    return nok(`Invalid rate limit string: ValueError(${pyStrRepr((err as Error).message)})`);
  }
  const name = pyStr(args.task_name ?? "");
  if (!state.app.tasks.has(name)) return nok("unknown task");
  state.worker.consumer.setRateLimit(name, rate);
  if (!rate) return ok("rate limit disabled successfully");
  return ok("new rate limit set successfully");
}

function stats(state: ControlState): Record<string, unknown> {
  const w = state.worker;
  const pool = w.executor.info();
  return {
    total: { ...w.stats.total },
    pid: process.pid,
    clock: String(state.clock.value),
    uptime: Math.floor((Date.now() - state.startedAt) / 1000),
    pool: {
      implementation: pool.implementation,
      // Celery's pool `limit`: the size it was started with, which autoscaling leaves alone.
      "max-concurrency": w.autoscaler ? w.concurrency : w.consumer.concurrency,
      processes: pool.processes,
      "max-tasks-per-child": pool.maxTasksPerChild ?? "N/A",
      "put-guarded-by-semaphore": false,
      timeouts: [state.app.conf.taskSoftTimeLimit ?? 0, state.app.conf.taskTimeLimit ?? 0],
    },
    ...(w.autoscaler ? { autoscaler: w.autoscaler.info() } : {}),
    broker: brokerInfo(state.app, state.transport),
    prefetch_count: w.prefetch,
    rusage: rusage(),
  };
}

/** An `autoscale` argument: absent or null leaves it as it is; else a whole number >= 0. */
function scaleArgument(args: Record<string, WireValue>, name: "max" | "min"): number | null {
  const v = args[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new ControlError("ValueError", `autoscale ${name} must be a whole number >= 0, got ${pyRepr(v)}`);
  return v;
}

/** Celery's `autoscale` command: a new range, answered with the range as it is now. */
function autoscale(state: ControlState, args: Record<string, WireValue>): unknown {
  const autoscaler = state.worker.autoscaler;
  if (!autoscaler) throw new ControlError("ValueError", "Autoscale not enabled");
  const [max, min] = autoscaler.update(scaleArgument(args, "max"), scaleArgument(args, "min"));
  return ok(`autoscale now max=${max} min=${min}`);
}

export const HANDLERS: Record<string, ControlHandler> = {
  // ---- inspect
  ping: () => ok("pong"),
  clock: (s) => ({ clock: s.clock.value }),
  stats: (s) => stats(s),
  active: (s, a) => s.worker.activeRequests.map((r) => requestInfo(s, r, a.safe === true)),
  reserved: (s) => [...s.worker.reservedRequests, ...s.worker.rateLimitedRequests].map((r) => requestInfo(s, r)),
  scheduled: (s) =>
    s.worker.scheduledRequests.map((r) => ({ eta: r.task.eta ? isoformatUtc(r.task.eta) : null, priority: 6, request: requestInfo(s, r) })),
  revoked: (s) => s.worker.revoked.toJSON().map(([id]) => id),
  registered: (s, a) => registered(s, a),
  active_queues: (s) => s.worker.queues.map(queueDict),
  query_task: (s, a) => {
    const ids = new Set(asList(a.ids));
    const out: Record<string, unknown> = {};
    for (const [r, where] of allRequests(s.worker)) if (ids.has(r.task.id)) out[r.task.id] = [where, requestInfo(s, r)];
    return out;
  },
  conf: (s, a) => confDict(s.app, a.with_defaults === true),
  report: (s) => ok(report(s)),
  hello: (s, a) => {
    if (a.from_node === s.worker.hostname) return null;
    const incoming = a.revoked;
    if (Array.isArray(incoming)) for (const id of incoming) s.worker.revoked.add(pyStr(id));
    else if (incoming && typeof incoming === "object" && !Buffer.isBuffer(incoming) && !(incoming instanceof Date)) for (const id of Object.keys(incoming)) s.worker.revoked.add(id);
    return { revoked: s.worker.revoked.toJSON().map(([id]) => id), clock: s.clock.forward() };
  },
  // ---- control
  revoke: (s, a) => revokeIds(s, asList(a.task_id), a.terminate === true, a.signal),
  terminate: (s, a) => revokeIds(s, asList(a.task_id), true, a.signal),
  revoke_by_stamped_headers: (s, a) =>
    ok(s.worker.revokeByStampedHeaders(stampHeadersFrom(a.headers), { terminate: a.terminate === true, signal: signalName(a.signal) })),
  rate_limit: (s, a) => rateLimit(s, a),
  time_limit: (s, a) => timeLimit(s, a),
  shutdown: (s, a) => {
    s.shutdown(typeof a.msg === "string" ? a.msg : "Got shutdown from remote");
    return null;
  },
  pool_grow: (s, a) => {
    if (s.worker.autoscaler) return nok("pool_grow is not supported with autoscale. Adjust autoscale range instead.");
    s.worker.consumer.grow(typeof a.n === "number" ? a.n : 1);
    return ok("pool will grow");
  },
  pool_shrink: (s, a) => {
    if (s.worker.autoscaler) return nok("pool_shrink is not supported with autoscale. Adjust autoscale range instead.");
    s.worker.consumer.shrink(typeof a.n === "number" ? a.n : 1);
    return ok("pool will shrink");
  },
  pool_restart: (s) => {
    if (!s.app.conf.workerPoolRestarts) throw new ControlError("ValueError", "Pool restarts not enabled");
    if (!s.worker.executor.restart()) throw new ControlError("ValueError", `Pool restarts not supported by the ${s.worker.executor.kind} pool`);
    return ok("reload started");
  },
  autoscale: (s, a) => autoscale(s, a),
  add_consumer: (s, a) => addConsumer(s, a),
  cancel_consumer: (s, a) => cancelConsumer(s, a),
  enable_events: (s) => {
    if (!s.events) return nok("event dispatcher unavailable");
    if (s.events.taskEventsEnabled) return ok("task events already enabled");
    s.events.setTaskEvents(true);
    return ok("task events enabled");
  },
  disable_events: (s) => {
    if (!s.events) return nok("event dispatcher unavailable");
    if (!s.events.taskEventsEnabled) return ok("task events already disabled");
    s.events.setTaskEvents(false);
    return ok("task events disabled");
  },
  heartbeat: (s) => {
    s.events?.heartbeat(5);
    return null;
  },
};

// Old names Celery still answers to.
HANDLERS.dump_active = HANDLERS.active;
HANDLERS.dump_reserved = HANDLERS.reserved;
HANDLERS.dump_schedule = HANDLERS.scheduled;
HANDLERS.dump_revoked = HANDLERS.revoked;
HANDLERS.dump_tasks = HANDLERS.registered;
HANDLERS.dump_conf = HANDLERS.conf;
