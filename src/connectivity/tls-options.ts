/**
 * node:tls options of a TLS link (tls-settings.ts's plan), with its certificate files read. The
 * files are read on the first connect, not when the app is made, and an unreadable file is a
 * fatal ConnectionFailure (retrying cannot help) naming the key and the path.
 */
import { readFileSync } from "node:fs";
import { rootCertificates, type ConnectionOptions } from "node:tls";
import { ConnectionFailure } from "./errors";
import type { TlsPlan } from "./tls-settings";

/** node:tls options of one link; throws a fatal ConnectionFailure for `url` when a file cannot be read. */
export function tlsConnectOptions(plan: TlsPlan, url: string): ConnectionOptions {
  const read = (key: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new ConnectionFailure(url, `cannot read ${key} file ${file} (${why}), set in ${plan.setting} or the URL`, true, err);
    }
  };
  const options: ConnectionOptions = { rejectUnauthorized: plan.verify };
  if (plan.caFile) {
    const ca = read(plan.keys.ca, plan.caFile);
    options.ca = plan.caAddsToSystem ? [...rootCertificates, ca.toString("utf8")] : ca;
  }
  if (plan.certFile) {
    options.cert = read(plan.keys.cert, plan.certFile);
    // Python's load_cert_chain(certfile, None) takes the key from the certificate's file.
    options.key = plan.keyFile ? read(plan.keys.key, plan.keyFile) : options.cert;
  } else if (plan.keyFile) {
    throw new ConnectionFailure(url, `${plan.keys.key} is set without ${plan.keys.cert} (${plan.setting})`, true);
  }
  if (plan.servername) options.servername = plan.servername;
  if (plan.verify && !plan.checkHostname) options.checkServerIdentity = () => undefined;
  return options;
}

/** tlsConnectOptions once: the first successful read is kept for every later connection of the link. */
export function lazyTlsOptions(plan: TlsPlan, url: string): () => ConnectionOptions {
  let options: ConnectionOptions | null = null;
  return () => (options ??= tlsConnectOptions(plan, url));
}
