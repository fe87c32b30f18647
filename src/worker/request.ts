/** One decoded task with its delivery: what the strategy and tracer work on. */
import type { DecodedTask, WireValue } from "../protocol/message";
import type { Delivery } from "../transport/types";
import type { RequestInfo } from "../client/task";

/** A task request held by the worker. */
export interface Request {
  task: DecodedTask;
  delivery: Delivery;
  info: RequestInfo;
  /** Settled (acked or rejected) already. */
  acknowledged: boolean;
  /** Unix ms when execution started. */
  timeStart: number | null;
  /** Set while it runs: stop it now and store REVOKED "terminated" (revoke with terminate). */
  terminate?: (signal: string) => void;
  /** Set while it runs: stop waiting for it and store nothing (cold shutdown). */
  abandon?: () => void;
}

/** Build the request from a decoded message and its delivery. */
export function createRequest(task: DecodedTask, delivery: Delivery, hostname: string): Request {
  const info: RequestInfo = {
    id: task.id,
    task: task.task,
    name: task.name,
    args: task.args,
    kwargs: task.kwargs,
    retries: task.retries,
    rootId: task.rootId,
    parentId: task.parentId,
    groupId: task.group,
    groupIndex: task.groupIndex,
    eta: task.eta,
    expires: task.expires,
    hostname,
    correlationId: task.correlationId,
    replyTo: task.replyTo,
    origin: task.origin,
    ignoreResult: task.ignoreResult,
    timelimit: task.timelimit,
    deliveryInfo: {
      exchange: delivery.exchange,
      routingKey: delivery.routingKey,
      priority: task.priority,
      redelivered: delivery.redelivered,
    },
    headers: task.headers,
  };
  return { task, delivery, info, acknowledged: false, timeStart: null };
}

/**
 * Positional arguments for the handler. With `params`, Python kwargs land on their declared
 * positions (an unknown or duplicate keyword is a TypeError, as in Python); without, a non-empty
 * kwargs object is passed as a trailing argument.
 */
export function handlerArguments(args: WireValue[], kwargs: { [key: string]: WireValue }, params: string[] | undefined): unknown[] {
  const keys = Object.keys(kwargs);
  if (!params) return keys.length ? [...args, kwargs] : args;
  const out: unknown[] = [...args];
  for (const key of keys) {
    const index = params.indexOf(key);
    if (index < 0) throw new TypeError(`got an unexpected keyword argument '${key}'`);
    if (index < args.length) throw new TypeError(`got multiple values for argument '${key}'`);
    out[index] = kwargs[key];
  }
  return out;
}
