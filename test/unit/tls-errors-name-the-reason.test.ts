/**
 * A TLS failure reads as what to fix: host and port, the reason (unknown CA, hostname mismatch,
 * expired, client certificate required or refused, no TLS on the port) in the broker's key names,
 * the node:tls code, and never the password. The codes are those node:tls / OpenSSL report.
 */
import { connectionFailure } from "../../src/connectivity/errors";
import { mayHideTlsAlert } from "../../src/connectivity/tls-probe";

function tlsError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

const REDIS = "rediss://:pw-s3cret@10.0.0.5:6380/0";
const AMQP = "amqps://guest:pw-s3cret@rabbit.example//";

test.each([
  [REDIS, "SELF_SIGNED_CERT_IN_CHAIN", "TLS handshake with 10.0.0.5:6380 failed: unknown CA: the server's certificate is not signed by a CA this client trusts (ssl_ca_certs) (SELF_SIGNED_CERT_IN_CHAIN)"],
  [AMQP, "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "TLS handshake with rabbit.example:5671 failed: unknown CA: the server's certificate is not signed by a CA this client trusts (ca_certs) (UNABLE_TO_VERIFY_LEAF_SIGNATURE)"],
  [REDIS, "CERT_HAS_EXPIRED", "TLS handshake with 10.0.0.5:6380 failed: the server's certificate has expired (CERT_HAS_EXPIRED)"],
  [REDIS, "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", "TLS handshake with 10.0.0.5:6380 failed: the server requires a client certificate (ssl_certfile and ssl_keyfile) (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED)"],
  [AMQP, "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", "TLS handshake with rabbit.example:5671 failed: the server requires a client certificate (certfile and keyfile) (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED)"],
  [REDIS, "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA", "TLS handshake with 10.0.0.5:6380 failed: the server does not trust the client certificate (unknown CA) (ERR_SSL_TLSV1_ALERT_UNKNOWN_CA)"],
  [REDIS, "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE", "TLS handshake with 10.0.0.5:6380 failed: the server refused the client certificate (ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE)"],
  [REDIS, "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE", "TLS handshake with 10.0.0.5:6380 failed: handshake failure (the server may require a client certificate, or shares no protocol version or cipher) (ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE)"],
  [AMQP, "ERR_SSL_WRONG_VERSION_NUMBER", "TLS handshake with rabbit.example:5671 failed: the server does not speak TLS on this port (amqp://?) (ERR_SSL_WRONG_VERSION_NUMBER)"],
])("%s %s", (url, code, reason) => {
  const failure = connectionFailure(url, tlsError(code));
  expect(failure.reason).toBe(reason);
  expect(failure.message).not.toContain("s3cret");
  expect(failure.fatal).toBe(false); // retried, as Celery retries it
});

test("a hostname mismatch names the host and the certificate's names", () => {
  const err = tlsError("ERR_TLS_CERT_ALTNAME_INVALID", "Hostname/IP does not match certificate's altnames: Host: other.example. is not in the cert's altnames: DNS:localhost");
  expect(connectionFailure(AMQP, err).reason).toBe(
    "TLS handshake with rabbit.example:5671 failed: hostname mismatch: Host: other.example. is not in the cert's altnames: DNS:localhost (ERR_TLS_CERT_ALTNAME_INVALID)",
  );
});

test("resets and a client that gave up may hide a TLS alert; other errors do not", () => {
  expect(mayHideTlsAlert(tlsError("ECONNRESET"))).toBe(true);
  expect(mayHideTlsAlert(tlsError("EPIPE"))).toBe(true);
  expect(mayHideTlsAlert(new Error("Connection is closed."))).toBe(true);
  expect(mayHideTlsAlert(tlsError("ECONNREFUSED"))).toBe(false);
  expect(mayHideTlsAlert(new Error("WRONGPASS invalid username-password pair"))).toBe(false);
  expect(mayHideTlsAlert("text")).toBe(false);
});
