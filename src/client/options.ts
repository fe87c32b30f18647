/** Options of `applyAsync` / `sendTask`, in camelCase with Celery's meaning. */
import type { Embed, WireObject, WireValue } from "../protocol/message";
import type { SignatureInput } from "../protocol/signature";
import type { SerializerName } from "../protocol/serializers";

/** Per-call options; layered over task options, which are layered over app settings. */
export interface ApplyOptions {
  /** Pre-assigned task id. */
  taskId?: string;
  /** Earliest run time. */
  eta?: Date | string;
  /** Seconds from now before the task may run. */
  countdown?: number;
  /** Seconds from now, or an absolute time, after which the task is discarded. */
  expires?: number | Date | string;
  queue?: string;
  exchange?: string;
  routingKey?: string;
  priority?: number;
  serializer?: SerializerName;
  compression?: string;
  /** Custom headers merged into the message headers. */
  headers?: WireObject;
  ignoreResult?: boolean;
  /** Display name for logs and monitoring. */
  shadow?: string;
  /** Hard time limit in seconds. */
  timeLimit?: number;
  /** Soft time limit in seconds. */
  softTimeLimit?: number;
  rootId?: string;
  parentId?: string;
  /**
   * Celery `add_to_parent` (default true): sent from a running task's handler, the result is
   * listed in that task's stored `children`.
   */
  addToParent?: boolean;
  groupId?: string;
  groupIndex?: number;
  retries?: number;
  argsrepr?: string;
  kwargsrepr?: string;
  /** Signatures to call with the result (Celery `link`). */
  link?: SignatureInput | SignatureInput[];
  /** Signatures to call with the task id on failure (Celery `link_error`). */
  linkError?: SignatureInput | SignatureInput[];
  /** Remaining chain (reversed, as on the wire) and chord body: set by canvas code. */
  chain?: Embed["chain"];
  chord?: SignatureInput | null;
  replyTo?: string;
}

/** Options of `task.apply()` (Celery `Task.apply`): the apply options, and whether the task's error is thrown. */
export interface EagerApplyOptions extends ApplyOptions {
  /** Celery `throw`: throw the task's error instead of returning a FAILURE result (default: `taskEagerPropagates`). */
  throw?: boolean;
}

/** One message of `sendTasks`: the arguments of `sendTask`, by name. */
export interface TaskMessage {
  /** The task's registered name. */
  name: string;
  args?: WireValue[];
  kwargs?: { [key: string]: WireValue };
  options?: ApplyOptions;
}
