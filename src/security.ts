/**
 * Message signing set-up (Celery's `app.setup_security()`): reads the private key, its certificate
 * and the trusted certificates the settings name, and builds the `auth` serializer
 * (`protocol/security`, where signing and verifying happen without I/O).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { CeleryConfig } from "./config";
import { fnmatchToRegExp } from "./protocol/fnmatch";
import { AuthSerializer, Certificate, CertStore, privateKeyFromPem } from "./protocol/security";
import type { InnerSerializer, SignatureLayout } from "./protocol/security";

/** `app.setupSecurity()`'s arguments (Celery's `setup_security`): each one overrides its setting. */
export interface SecuritySetup {
  /** Path of the PEM private key (security_key). */
  key?: string;
  /** Password of an encrypted key (security_key_password). */
  keyPassword?: string | Buffer;
  /** Path of the key's PEM certificate (security_certificate). */
  cert?: string;
  /** Glob (or directory) of the trusted signers' PEM certificates (security_cert_store). */
  store?: string;
  /** security_digest, e.g. "sha256" (the default). */
  digest?: string;
  /** The serializer of the signed body (default "json"). */
  serializer?: InnerSerializer;
  /** The layout written: "5.3" (default) or "5.2" (securityLayout). */
  layout?: SignatureLayout;
}

/** Celery's ImproperlyConfigured: message signing asked for without what it needs. */
export class ImproperlyConfigured extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImproperlyConfigured";
  }
}

const MAGIC = /[*?[]/;

/** Python's `glob.glob(pattern)` for files, sorted: wildcards in any path segment; hidden names only when the segment starts with a dot. */
export function globFiles(pattern: string): string[] {
  const absolute = path.isAbsolute(pattern);
  let found = [absolute ? path.parse(pattern).root : "."];
  const segments = pattern.split(/[\\/]+/).filter((s) => s !== "");
  for (const segment of segments) {
    const next: string[] = [];
    for (const dir of found) {
      if (!MAGIC.test(segment)) {
        next.push(path.join(dir, segment));
        continue;
      }
      const re = fnmatchToRegExp(segment);
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names.sort()) if (re.test(name) && (!name.startsWith(".") || segment.startsWith("."))) next.push(path.join(dir, name));
    }
    found = next;
  }
  return found.filter((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  }).map((p) => (absolute ? p : path.relative(".", p) || p));
}

/** The trusted certificates of a security_cert_store (a glob, or a directory: every file in it); expired ones refused, as Celery. */
export function loadCertStore(pattern: string, now?: () => Date): CertStore {
  let glob = pattern;
  try {
    if (statSync(pattern).isDirectory()) glob = path.join(pattern, "*");
  } catch {
    /* not a directory: a glob */
  }
  return new CertStore(globFiles(glob).map((file) => new Certificate(readFileSync(file))), now);
}

/**
 * The `auth` serializer from the settings and `setup` (which override them). Throws
 * ImproperlyConfigured when key, certificate or store is missing (Celery's wording), SecurityError
 * for an unreadable key or certificate, or an expired trusted certificate.
 */
export function authSerializerFrom(conf: CeleryConfig, setup: SecuritySetup = {}): AuthSerializer {
  const keyFile = setup.key ?? conf.securityKey;
  const certFile = setup.cert ?? conf.securityCertificate;
  const storeGlob = setup.store ?? conf.securityCertStore;
  if (!keyFile || !certFile || !storeGlob) {
    throw new ImproperlyConfigured(
      "Sorry, but you have to configure the securityKey (security_key), securityCertificate (security_certificate) and securityCertStore (security_cert_store) settings to use the auth serializer.",
    );
  }
  return new AuthSerializer({
    key: privateKeyFromPem(readFileSync(keyFile), setup.keyPassword ?? conf.securityKeyPassword),
    cert: new Certificate(readFileSync(certFile)),
    store: loadCertStore(storeGlob),
    digest: setup.digest ?? conf.securityDigest,
    serializer: setup.serializer ?? "json",
    layout: setup.layout ?? conf.securityLayout,
  });
}
