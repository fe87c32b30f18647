/** Celery's `SecurityError` (celery.exceptions), with its message wording. */
import { pyBytesRepr, pyStrRepr } from "../repr";

/** A signed message or a certificate was refused (Celery's `celery.exceptions.SecurityError`). */
export class SecurityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecurityError";
  }
}

/** Python's `repr(exc)` of an exception named `name` with one message argument. */
export function excRepr(name: string, message: string): string {
  return `${name}(${pyStrRepr(message)})`;
}

/** Celery's `Unknown certificate: b'<signer>'` (the signer id as the bytes read from the message). */
export function unknownCertificate(signer: Uint8Array): SecurityError {
  return new SecurityError(`Unknown certificate: ${pyBytesRepr(signer)}`);
}

/** Celery's `Expired certificate: '<id>'`. */
export function expiredCertificate(id: string): SecurityError {
  return new SecurityError(`Expired certificate: ${pyStrRepr(id)}`);
}
