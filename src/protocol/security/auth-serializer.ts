/**
 * Celery's `auth` serializer (`celery.security.serialization.SecureSerializer`): the body is
 * serialized by an inner serializer (json by default), signed with RSA-PSS (MGF1, maximum salt
 * length, `security_digest`), and the fields are joined by the bytes `\x00\x01`, then base64:
 *
 * - layout "5.2" (Celery 5.2 and older): signer id, raw signature (key size / 8 bytes), content
 *   type, content encoding, body;
 * - layout "5.3" (Celery 5.3 and newer): base64(signer id), base64(signature), content type,
 *   content encoding, body (split at most 4 times).
 *
 * Neither Celery reads the other's layout; this reads both (a 5.2 signer id always holds a space,
 * never part of a base64 field) and writes the chosen one. Content type `application/data`,
 * encoding `utf-8`. Pure: node:crypto only; keys and certificates come as PEM text.
 */
import { constants, createPrivateKey, sign, verify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import type { WireValue } from "../message";
import type { DecodeLimits } from "../limits";
import { NO_LIMITS } from "../limits";
import { CONTENT_TYPES, deserialize, serialize } from "../serializers";
import type { AuthCodec, SerializedBody } from "../serializers";
import type { Certificate, CertStore } from "./certificate";
import { digestOf } from "./digest";
import type { Digest } from "./digest";
import { SecurityError, excRepr } from "./errors";

/** Which layout signed bodies are written in: "5.3" (Celery 5.3 and newer) or "5.2" (Celery 5.2 and older). */
export type SignatureLayout = "5.2" | "5.3";

/** The inner serializers a signed body may carry. */
export type InnerSerializer = "json" | "msgpack" | "yaml";

const SEP = Buffer.from([0x00, 0x01]);
const BASE64_FIELD = /^[A-Za-z0-9+/=]*$/;

/** What an `AuthSerializer` signs with and trusts. */
export interface AuthSerializerOptions {
  /** The private key that signs (needed to serialize). */
  key?: KeyObject | null;
  /** The certificate of that key: its id names the signer (needed to serialize). */
  cert?: Certificate | null;
  /** The trusted signers (needed to deserialize). */
  store?: CertStore | null;
  /** security_digest (default "sha256"). */
  digest?: string;
  /** The serializer of the signed body (Celery's `setup_security(serializer=...)`, default "json"). */
  serializer?: InnerSerializer;
  /** The layout written (default "5.3"); both are read. */
  layout?: SignatureLayout;
}

/** Parses a PEM private key (RSA only), decrypted with `password` when given; throws SecurityError (`Invalid private key: ...`). */
export function privateKeyFromPem(pem: string | Buffer, password?: string | Buffer | null): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem", passphrase: password ?? undefined });
  } catch (err) {
    throw new SecurityError(`Invalid private key: ${excRepr("ValueError", (err as Error).message)}`);
  }
  if (key.asymmetricKeyType !== "rsa") throw new SecurityError(`Invalid private key: ${excRepr("ValueError", "Non-RSA keys are not supported.")}`);
  return key;
}

function splitN(buf: Buffer, max: number): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (out.length < max) {
    const at = buf.indexOf(SEP, pos);
    if (at < 0) break;
    out.push(buf.subarray(pos, at));
    pos = at + SEP.length;
  }
  out.push(buf.subarray(pos));
  return out;
}

interface Unpacked {
  signer: Buffer;
  signature: Buffer;
  contentType: string;
  contentEncoding: string;
  body: Buffer;
  cert: Certificate;
}

/** Signs and verifies message bodies as Celery's `auth` serializer. */
export class AuthSerializer implements AuthCodec {
  private readonly key: KeyObject | null;
  private readonly cert: Certificate | null;
  private readonly store: CertStore | null;
  private readonly digest: Digest;
  private readonly serializer: InnerSerializer;
  /** The layout this serializer writes. */
  readonly layout: SignatureLayout;

  constructor(options: AuthSerializerOptions) {
    this.key = options.key ?? null;
    this.cert = options.cert ?? null;
    this.store = options.store ?? null;
    this.digest = digestOf(options.digest ?? "sha256");
    this.serializer = options.serializer ?? "json";
    this.layout = options.layout ?? "5.3";
  }

  /** Serializes and signs `value`: base64 text, content type `application/data`, encoding `utf-8`. */
  serialize(value: unknown): SerializedBody {
    if (!this.key || !this.cert) throw new SecurityError("Unable to serialize: no private key and certificate to sign with (security_key, security_certificate)");
    const inner = serialize(value, this.serializer);
    let signature: Buffer;
    try {
      signature = sign(this.digest.name, inner.body, { key: this.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN });
    } catch (err) {
      throw new SecurityError(`Unable to serialize: ${excRepr("SecurityError", `Unable to sign data: ${(err as Error).message}`)}`);
    }
    const signer = Buffer.from(this.cert.id, "utf8");
    const head = this.layout === "5.2" ? [signer, signature] : [Buffer.from(signer.toString("base64")), Buffer.from(signature.toString("base64"))];
    const fields = [...head, Buffer.from(inner.contentType), Buffer.from(inner.contentEncoding), inner.body];
    const joined = Buffer.concat(fields.flatMap((f, i) => (i === 0 ? [f] : [SEP, f])));
    return { body: Buffer.from(joined.toString("base64"), "latin1"), contentType: "application/data", contentEncoding: "utf-8" };
  }

  /**
   * Verifies a signed body (either layout) and deserializes what it carries. Throws SecurityError
   * with Celery's wording (`Unable to deserialize: SecurityError("Unknown certificate: b'...'")`,
   * `... Bad signature ...`, `... Expired certificate ...`); pickle is never deserialized.
   */
  deserialize(payload: Buffer, limits: DecodeLimits = NO_LIMITS): WireValue {
    let p: Unpacked;
    try {
      p = this.unpack(payload);
      this.verify(p);
    } catch (err) {
      const inner = err instanceof SecurityError ? excRepr("SecurityError", err.message) : excRepr((err as Error).name || "Error", (err as Error).message);
      throw new SecurityError(`Unable to deserialize: ${inner}`);
    }
    const ctype = p.contentType.split(";")[0].trim().toLowerCase();
    const accept = ctype === CONTENT_TYPES.pickle.contentType ? [] : [ctype];
    return deserialize(p.body, p.contentType, p.contentEncoding, accept, limits);
  }

  private unpack(payload: Buffer): Unpacked {
    if (!this.store) throw new SecurityError("no certificate store to verify with (security_cert_store)");
    const raw = Buffer.from(payload.toString("latin1"), "base64");
    const first = raw.indexOf(SEP);
    const head = first < 0 ? raw : raw.subarray(0, first);
    if (BASE64_FIELD.test(head.toString("latin1"))) {
      const v = splitN(raw, 4);
      if (v.length < 5) throw new IndexErrorLike("list index out of range");
      const signer = Buffer.from(v[0].toString("latin1"), "base64");
      const cert = this.store.get(signer);
      return { signer, signature: Buffer.from(v[1].toString("latin1"), "base64"), contentType: v[2].toString("utf8"), contentEncoding: v[3].toString("utf8"), body: v[4], cert };
    }
    const cert = this.store.get(head);
    const sigStart = first + SEP.length;
    const sigEnd = sigStart + (cert.keySize >> 3);
    const v = splitN(raw.subarray(sigEnd + SEP.length), 2);
    if (v.length < 3) throw new IndexErrorLike("list index out of range");
    return { signer: head, signature: raw.subarray(sigStart, sigEnd), contentType: v[0].toString("utf8"), contentEncoding: v[1].toString("utf8"), body: v[2], cert };
  }

  private verify(p: Unpacked): void {
    const emLen = Math.ceil((p.cert.keySize - 1) / 8);
    const saltLength = emLen - this.digest.size - 2;
    let ok = false;
    try {
      ok = verify(this.digest.name, p.body, { key: p.cert.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, p.signature);
    } catch {
      ok = false;
    }
    if (!ok) throw new SecurityError("Bad signature: InvalidSignature()");
  }
}

/** Python's IndexError, for a payload with fewer fields than the layout has. */
class IndexErrorLike extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IndexError";
  }
}
