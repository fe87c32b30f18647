/**
 * Serializer registry (docs/protocol.md §4.1): json (default), msgpack, yaml, and `auth` (signed
 * bodies, `protocol/security`) when an `AuthCodec` is given. Pickle is never decoded.
 */
import type { WireValue } from "../message";
import { pyJsonDumps, pyJsonLoads } from "./json";
import { msgpackDumps, msgpackLoads } from "./msgpack";
import { yamlDumps, yamlLoads } from "./yaml";
import { assertNestingDepth, isStackOverflow, NO_LIMITS, tooDeep } from "../limits";
import type { DecodeLimits } from "../limits";

/** A serializer's name; `auth` (Celery's message signing) needs an `AuthCodec` (the app's `setupSecurity()`). */
export type SerializerName = "json" | "msgpack" | "yaml" | "auth";

/** A serialized body with its content type and encoding. */
export interface SerializedBody {
  body: Buffer;
  contentType: string;
  contentEncoding: string;
}

/**
 * Celery's `auth` serializer as the codec layer sees it (`protocol/security`'s AuthSerializer):
 * signs what it serializes, verifies what it deserializes, throws `SecurityError` otherwise.
 * Bodies of type `application/data` go through it when one is given (as kombu, once `auth` is registered).
 */
export interface AuthCodec {
  serialize(value: unknown): SerializedBody;
  deserialize(body: Buffer, limits: DecodeLimits): WireValue;
}

/** The content type and encoding of `auth` bodies. */
export const AUTH_CONTENT_TYPE = "application/data";

/** Raised when a message's content type is not accepted (kombu's `ContentDisallowed`). */
export class ContentDisallowed extends Error {
  readonly contentType: string;
  constructor(message: string, contentType: string) {
    super(message);
    this.name = "ContentDisallowed";
    this.contentType = contentType;
  }
}

/** Name ↔ content type ↔ content encoding, as kombu registers them. */
export const CONTENT_TYPES: { readonly [name: string]: { contentType: string; contentEncoding: string } } = {
  json: { contentType: "application/json", contentEncoding: "utf-8" },
  msgpack: { contentType: "application/x-msgpack", contentEncoding: "binary" },
  yaml: { contentType: "application/x-yaml", contentEncoding: "utf-8" },
  pickle: { contentType: "application/x-python-serialize", contentEncoding: "binary" },
  auth: { contentType: AUTH_CONTENT_TYPE, contentEncoding: "utf-8" },
};

const TYPE_TO_NAME: { readonly [contentType: string]: string } = {
  "application/json": "json",
  "application/x-msgpack": "msgpack",
  "application/x-yaml": "yaml",
  "application/x-python-serialize": "pickle",
};

/** Content types kombu always trusts (raw bytes / raw text); they bypass `accept`. */
const TRUSTED = new Set(["application/data", "application/text"]);

/** The serializer name for a content type (`"json"` for `application/json`), or null. */
export function serializerNameFor(contentType: string): string | null {
  return TYPE_TO_NAME[normalizeContentType(contentType)] ?? null;
}

/** Content types already in normal form (what every peer sends): no split/trim/lowercase copy. */
const NORMAL_TYPES = new Set([...Object.keys(TYPE_TO_NAME), ...TRUSTED]);

function normalizeContentType(contentType: string): string {
  if (NORMAL_TYPES.has(contentType)) return contentType;
  return (contentType || "application/data").split(";")[0].trim().toLowerCase();
}

/** Turns an accept list of names and/or MIME types into a set of MIME types. */
export function acceptedContentTypes(accept: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const a of accept) {
    const key = a.trim().toLowerCase();
    out.add(CONTENT_TYPES[key]?.contentType ?? key);
  }
  return out;
}

/**
 * kombu's EncodeError: the value cannot be encoded by the serializer (a function or symbol, a
 * cycle, nesting deeper than the encoder's stack). Thrown by `serialize` whatever the encoder threw.
 */
export class EncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EncodeError";
  }
}

/** Runs an encoder; whatever it throws becomes an EncodeError (a stack overflow included). */
export function encodingWith<T>(encode: () => T): T {
  try {
    return encode();
  } catch (err) {
    if (err instanceof EncodeError) throw err;
    const message = err instanceof RangeError ? `nesting too deep to encode (${err.message})` : err instanceof Error ? err.message : String(err);
    throw new EncodeError(message);
  }
}

/**
 * Encodes `value` with a serializer; an unencodable value throws EncodeError. `auth` signs with
 * `auth` (without one: EncodeError `No encoder installed for auth`, kombu's wording).
 */
export function serialize(value: unknown, name: SerializerName, auth?: AuthCodec | null): SerializedBody {
  if (name === "auth") {
    if (!auth) throw new EncodeError("No encoder installed for auth (set up message signing: app.setupSecurity())");
    return auth.serialize(value);
  }
  return encodingWith(() => serializeUnchecked(value, name));
}

function serializeUnchecked(value: unknown, name: SerializerName): SerializedBody {
  switch (name) {
    case "json":
      return { body: Buffer.from(pyJsonDumps(value), "utf8"), ...CONTENT_TYPES.json };
    case "msgpack":
      return { body: msgpackDumps(value), ...CONTENT_TYPES.msgpack };
    case "yaml":
      return { body: Buffer.from(yamlDumps(value), "utf8"), ...CONTENT_TYPES.yaml };
    default:
      throw new Error(`No encoder installed for ${String(name)}`);
  }
}

function nodeEncoding(contentEncoding: string): BufferEncoding {
  const e = (contentEncoding || "utf-8").trim().toLowerCase().replace(/_/g, "-");
  switch (e) {
    case "utf-8":
    case "utf8":
    case "binary":
    case "ascii-8bit":
      return "utf8";
    case "ascii":
    case "us-ascii":
      return "ascii";
    case "latin-1":
    case "latin1":
    case "iso-8859-1":
      return "latin1";
    case "utf-16le":
    case "utf-16-le":
      return "utf16le";
    default:
      throw new Error(`Unsupported content encoding: ${contentEncoding}`);
  }
}

/** The last accept list seen (a worker checks every message against the same one) and its MIME types. */
let lastAccept: { list: readonly string[]; copy: string[]; types: Set<string> } | null = null;

/** `acceptedContentTypes(accept)`, kept while the same list, unchanged, comes again. */
function acceptedTypesOf(accept: readonly string[]): Set<string> {
  const last = lastAccept;
  if (last && last.list === accept && last.copy.length === accept.length) {
    let same = true;
    for (let i = 0; i < accept.length && same; i++) same = last.copy[i] === accept[i];
    if (same) return last.types;
  }
  const types = acceptedContentTypes(accept);
  lastAccept = { list: accept, copy: [...accept], types };
  return types;
}

/** Throws `ContentDisallowed` unless `contentType` is trusted or in `accept` (names or MIME). */
export function assertContentAccepted(contentType: string, accept: readonly string[]): void {
  const ctype = normalizeContentType(contentType);
  if (TRUSTED.has(ctype)) return;
  const name = TYPE_TO_NAME[ctype];
  if (!acceptedTypesOf(accept).has(ctype) || name === undefined) {
    throw new ContentDisallowed(
      `Refusing to deserialize untrusted content of type ${name ?? ctype} (${ctype})`,
      ctype,
    );
  }
}

/**
 * Decodes a (decompressed) body. `accept` holds serializer names and/or MIME types, like
 * Celery's `accept_content`. Throws `ContentDisallowed` for types that are not accepted, unknown,
 * or pickle (never decoded here, even when accepted), `MessageLimitError` past
 * `limits.maxNestingDepth`, `UnsupportedValueError` for values no kombu peer sends.
 *
 * As kombu's `loads`: a serializer's decoder gets the bytes whatever the content-encoding label
 * says (JSON and YAML are read as UTF-8, so celery-ts's `base64` label is harmless); the label
 * only matters for `application/text`.
 *
 * With `auth`, an `application/data` body is a signed one: verified and decoded by it (throws
 * `SecurityError`); without, it is raw bytes, as kombu has it.
 */
export function deserialize(
  body: Buffer,
  contentType: string,
  contentEncoding: string,
  accept: readonly string[],
  limits: DecodeLimits = NO_LIMITS,
  auth?: AuthCodec | null,
): WireValue {
  const ctype = normalizeContentType(contentType);
  if (auth && ctype === AUTH_CONTENT_TYPE) return auth.deserialize(body, limits);
  if (TRUSTED.has(ctype)) {
    return ctype === "application/text" ? body.toString(nodeEncoding(contentEncoding)) : body;
  }
  assertContentAccepted(ctype, accept);
  const name = TYPE_TO_NAME[ctype];
  if (name !== "json" && name !== "msgpack" && name !== "yaml") {
    throw new ContentDisallowed(`Refusing to deserialize pickle content (${ctype}): celeriac never deserializes pickle`, ctype);
  }
  const depth = limits.maxNestingDepth;
  try {
    if (name === "json") return pyJsonLoads(body.toString("utf8"), depth);
    if (name === "msgpack") return msgpackLoads(body, depth);
    const value = yamlLoads(body.toString("utf8"));
    assertNestingDepth(value, depth);
    return value;
  } catch (err) {
    // Only nesting far deeper than any limit overflows a decoder's stack.
    if (isStackOverflow(err)) throw tooDeep(depth);
    throw err;
  }
}

export { pyJsonDumps, pyJsonLoads } from "./json";
export { UnsupportedValueError } from "./plain";
