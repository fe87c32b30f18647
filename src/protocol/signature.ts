/**
 * Signature dicts (docs/protocol.md §3.1): `{task, args, kwargs, options, subtask_type, immutable}` in that
 * key order, extra keys (e.g. legacy `chord_size`) kept after them.
 */
import { isWireObject } from "./message";
import type { SignatureDict, WireObject, WireValue } from "./message";

export class InvalidSignature extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidSignature";
  }
}

const CORE_KEYS = new Set(["task", "args", "kwargs", "options", "subtask_type", "immutable"]);

/** Fills missing keys of a signature dict received from the wire (throws if it is not one). */
export function normalizeSignature(value: WireValue | undefined): SignatureDict {
  if (!isWireObject(value)) throw new InvalidSignature(`signature must be an object, got ${typeof value}`);
  const task = value.task;
  if (typeof task !== "string") throw new InvalidSignature("signature has no task name");
  const args = value.args;
  const kwargs = value.kwargs;
  const options = value.options;
  const sig: SignatureDict = {
    task,
    args: Array.isArray(args) ? args : args == null ? [] : [args],
    kwargs: isWireObject(kwargs) ? kwargs : {},
    options: isWireObject(options) ? options : {},
    subtask_type: typeof value.subtask_type === "string" ? value.subtask_type : null,
    immutable: value.immutable === true,
  };
  for (const key of Object.keys(value)) {
    if (!CORE_KEYS.has(key)) sig[key] = value[key];
  }
  return sig;
}

/** Normalizes a list of signatures (null/undefined → null). */
export function normalizeSignatureList(value: WireValue | undefined): SignatureDict[] | null {
  if (value === null || value === undefined) return null;
  if (!Array.isArray(value)) return [normalizeSignature(value)];
  return value.map(normalizeSignature);
}

export interface SignatureExtras {
  subtaskType?: string | null;
  immutable?: boolean;
}

/** Builds a signature dict the way Python's `Signature` serializes. */
export function signatureDict(
  task: string,
  args: WireValue[] = [],
  kwargs: WireObject = {},
  options: WireObject = {},
  extras: SignatureExtras = {},
): SignatureDict {
  return {
    task,
    args,
    kwargs,
    options,
    subtask_type: extras.subtaskType ?? null,
    immutable: extras.immutable ?? false,
  };
}

/** Anything that turns into a signature dict (the canvas `Signature` class). */
export interface SignatureLike {
  toDict(): SignatureDict;
}

/** A signature dict or a Signature object. */
export type SignatureInput = SignatureDict | SignatureLike;

/** The dict form of a signature given either way. */
export function toSignatureDict(sig: SignatureInput): SignatureDict {
  return typeof (sig as SignatureLike).toDict === "function" ? (sig as SignatureLike).toDict() : (sig as SignatureDict);
}
