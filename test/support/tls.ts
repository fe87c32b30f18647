/**
 * TLS in tests: throw-away certificates (scripts/make-test-certs.sh: a CA, a server certificate
 * for localhost / 127.0.0.1, a client certificate, a wrong CA), a TLS-only redis-server of a test
 * file's own that requires a client certificate and a password, and the AMQPS listener of the
 * private RabbitMQ (test/services/global-setup.js, certificates in its dir's tls/).
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { amqpDir, amqpPort } from "./amqp";
import { waitFor } from "./wait";

const ROOT = path.resolve(__dirname, "..", "..");
const run = promisify(execFile);

/** The PEM files of one certificate set. */
export interface TestCerts {
  dir: string;
  ca: string;
  wrongCa: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** The certificate set in `dir` (as make-test-certs.sh names its files). */
export function certsIn(dir: string): TestCerts {
  const f = (name: string) => path.join(dir, name);
  return { dir, ca: f("ca.pem"), wrongCa: f("wrong-ca.pem"), serverCert: f("server.pem"), serverKey: f("server.key"), clientCert: f("client.pem"), clientKey: f("client.key") };
}

/** A fresh certificate set in a temporary directory (remove `dir` after use). */
export async function makeCerts(): Promise<TestCerts> {
  const dir = mkdtempSync(path.join(tmpdir(), "celeriac-tls-"));
  await run("bash", [path.join(ROOT, "scripts", "make-test-certs.sh"), dir], { timeout: 30_000 });
  return certsIn(dir);
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/** A TLS-only redis-server of a test file's own. */
export interface TlsRedis {
  port: number;
  /** Its `requirepass`. */
  password: string;
  certs: TestCerts;
  stop(): Promise<void>;
}

/** Port of the TLS-only Redis of the TLS tests: CELERIAC_TEST_REDIS_TLS_PORT, default the private Redis port + 50. */
export function redisTlsPort(): number {
  return Number(process.env.CELERIAC_TEST_REDIS_TLS_PORT || Number(process.env.CELERIAC_TEST_REDIS_PORT || 16379) + 50);
}

/**
 * Debian's redis-server with `--port 0 --tls-port <port>` on loopback, a client certificate
 * required (`--tls-auth-clients yes`; `clientCerts: false`: none asked for, as hosted Redis
 * services run it) and `password`; no persistence, data in the certs' dir.
 */
export async function startTlsRedis(certs: TestCerts, password: string, port = redisTlsPort(), clientCerts = true): Promise<TlsRedis> {
  if (await portOpen(port)) throw new Error(`127.0.0.1:${port} (CELERIAC_TEST_REDIS_TLS_PORT) is taken: stop what listens there or pick another port`);
  const args = [
    "--port", "0", "--tls-port", String(port), "--bind", "127.0.0.1",
    "--tls-cert-file", certs.serverCert, "--tls-key-file", certs.serverKey, "--tls-ca-cert-file", certs.ca, "--tls-auth-clients", clientCerts ? "yes" : "no",
    "--requirepass", password, "--save", "", "--appendonly", "no", "--dir", certs.dir, "--daemonize", "no",
  ];
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  const kill = () => child.kill("SIGKILL");
  process.on("exit", kill);
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`redis-server --tls-port ${port} exited:\n${log}`);
      return portOpen(port);
    }, 10_000, `redis-server --tls-port ${port}`);
  } catch (err) {
    kill();
    throw err;
  }
  return {
    port,
    password,
    certs,
    async stop() {
      process.off("exit", kill);
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** The private RabbitMQ's AMQPS listener (client certificate required) and its certificates. */
export function rabbitTls(): { port: number; certs: TestCerts } {
  const port = Number(process.env.CELERIAC_TEST_AMQP_TLS_PORT || amqpPort() + 50);
  return { port, certs: certsIn(path.join(amqpDir(), "tls")) };
}

/** Removes a certificate set made by makeCerts. */
export function removeCerts(certs: TestCerts): void {
  rmSync(certs.dir, { recursive: true, force: true });
}
