/**
 * X.509 certificates and the store of trusted signers (Celery's `celery.security.certificate`),
 * from PEM text given by the caller (reading files is the app's business). Pure: node:crypto only.
 */
import { X509Certificate } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { certificateFields } from "./der";
import { SecurityError, excRepr, expiredCertificate, unknownCertificate } from "./errors";

/** An RSA certificate: its signer id (Celery's `get_id()`), public key and expiry. */
export class Certificate {
  /** Celery's signer id: the issuer's attribute values joined by spaces, a space, the serial number in decimal. */
  readonly id: string;
  /** The certificate's RSA public key. */
  readonly publicKey: KeyObject;
  /** The modulus length in bits (a signature is `keySize / 8` bytes). */
  readonly keySize: number;
  /** notAfter: the certificate has expired from this instant on. */
  readonly notAfter: Date;

  /** Parses PEM text; throws SecurityError (`Invalid certificate: ...`) for anything but an RSA certificate. */
  constructor(pem: string | Buffer) {
    let x509: X509Certificate;
    let fields: ReturnType<typeof certificateFields>;
    try {
      x509 = new X509Certificate(pem);
      fields = certificateFields(x509.raw);
    } catch (err) {
      throw new SecurityError(`Invalid certificate: ${excRepr("ValueError", (err as Error).message)}`);
    }
    const key = x509.publicKey;
    if (key.asymmetricKeyType !== "rsa") {
      throw new SecurityError(`Invalid certificate: ${excRepr("ValueError", "Non-RSA certificates are not supported.")}`);
    }
    this.publicKey = key;
    this.keySize = key.asymmetricKeyDetails?.modulusLength ?? 0;
    this.notAfter = fields.notAfter;
    this.id = `${fields.issuerValues.join(" ")} ${fields.serialNumber}`;
  }

  /** True once `now` has reached notAfter (Celery's `has_expired()`). */
  hasExpired(now: Date = new Date()): boolean {
    return now.getTime() >= this.notAfter.getTime();
  }
}

/**
 * The trusted signers by id (Celery's `CertStore`/`FSCertStore`): an expired certificate is
 * refused when added, and again when it signs a message after it expired (Celery 5.3+).
 */
export class CertStore {
  private readonly certs = new Map<string, Certificate>();
  private readonly now: () => Date;

  /** `now` is the clock expiry is judged by (tests). */
  constructor(certs: Iterable<Certificate> = [], now: () => Date = () => new Date()) {
    this.now = now;
    for (const cert of certs) this.add(cert);
  }

  /** Adds a certificate; throws SecurityError for an expired one or a second one with the same id. */
  add(cert: Certificate): void {
    if (cert.hasExpired(this.now())) throw expiredCertificate(cert.id);
    if (this.certs.has(cert.id)) throw new SecurityError(`Duplicate certificate: ${cert.id}`);
    this.certs.set(cert.id, cert);
  }

  /** The certificate of `signer` (the id's UTF-8 bytes from a message); throws `Unknown certificate` or `Expired certificate`. */
  get(signer: Uint8Array): Certificate {
    const cert = this.certs.get(Buffer.from(signer).toString("utf8"));
    if (!cert) throw unknownCertificate(signer);
    if (cert.hasExpired(this.now())) throw expiredCertificate(cert.id);
    return cert;
  }

  /** The ids of the trusted certificates. */
  ids(): string[] {
    return [...this.certs.keys()];
  }
}
