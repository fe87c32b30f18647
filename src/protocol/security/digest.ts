/** `security_digest` names (Celery: `getattr(cryptography.hazmat.primitives.hashes, digest.upper())`) as node:crypto's. */
import { createHash } from "node:crypto";

const NODE_NAMES: { readonly [celeryName: string]: string } = {
  MD5: "md5",
  SHA1: "sha1",
  SHA224: "sha224",
  SHA256: "sha256",
  SHA384: "sha384",
  SHA512: "sha512",
  SHA512_224: "sha512-224",
  SHA512_256: "sha512-256",
  SHA3_224: "sha3-224",
  SHA3_256: "sha3-256",
  SHA3_384: "sha3-384",
  SHA3_512: "sha3-512",
  SM3: "sm3",
};

/** A digest: its node:crypto name and output length in bytes. */
export interface Digest {
  name: string;
  size: number;
}

/** The digest a `security_digest` value names (`"sha256"`, `"sha512"`, ...); throws for one Celery has no such hash for. */
export function digestOf(securityDigest: string): Digest {
  const name = NODE_NAMES[securityDigest.toUpperCase()];
  if (!name) throw new Error(`security_digest ${JSON.stringify(securityDigest)} is not a hash Celery knows (sha256, sha384, sha512, sha3_256, ...)`);
  return { name, size: createHash(name).digest().length };
}
