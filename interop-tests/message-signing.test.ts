/**
 * Message signing (Celery's auth serializer) between celeriac and both Celerys, on Redis and
 * RabbitMQ: signed tasks run on the other side, signed results are read back, and unsigned,
 * unknown-signer and tampered messages are refused on both sides (one log line at celeriac's, never
 * run), the worker going on. Certificates are made by openssl in a temp dir; the celeriac side
 * writes the layout its Python peer reads (5.2 for Celery 5.2, 5.3 for the newest).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Celery, Worker } from "../src";
import { Celery as CeleryApp } from "../src";
import { encodeTask } from "../src/protocol/encode";
import { captureLogger, unique } from "../test/support/app";
import { BROKERS, type BrokerLease } from "../test/support/brokers";
import { pyClient, pyInline, type PyOutcome, PYTHONS, startPythonWorker, type PythonWorker } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

interface Signer {
  key: string;
  cert: string;
}

function makeSigner(dir: string, name: string): Signer {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.pem`);
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", `/O=celeriac interop/CN=${name}`], { stdio: "ignore" });
  return { key, cert };
}

/** A certificate that expired in 2020 (openssl ca with explicit dates). */
function makeExpiredCert(dir: string): string {
  const ca = path.join(dir, "ca");
  fs.mkdirSync(ca);
  fs.writeFileSync(path.join(ca, "index.txt"), "");
  fs.writeFileSync(path.join(ca, "serial"), "1000\n");
  fs.writeFileSync(path.join(ca, "ca.cnf"), `[ca]\ndefault_ca=x\n[x]\ndatabase=${ca}/index.txt\nnew_certs_dir=${ca}\nserial=${ca}/serial\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n`);
  const key = path.join(ca, "expired.key");
  const csr = path.join(ca, "expired.csr");
  const cert = path.join(dir, "expired-store", "expired.pem");
  fs.mkdirSync(path.dirname(cert));
  execFileSync("openssl", ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=expired"], { stdio: "ignore" });
  execFileSync("openssl", ["ca", "-config", path.join(ca, "ca.cnf"), "-selfsign", "-keyfile", key, "-in", csr, "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-batch", "-notext", "-out", cert], { stdio: "ignore" });
  return cert;
}

let dir: string;
let pySigner: Signer;
let tsSigner: Signer;
let rogue: Signer;
let trusted: string;
let expiredStore: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "celeriac-signing-"));
  pySigner = makeSigner(dir, "python signer");
  tsSigner = makeSigner(dir, "celeriac signer");
  rogue = makeSigner(dir, "rogue signer");
  fs.mkdirSync(path.join(dir, "trusted"));
  for (const s of [pySigner, tsSigner]) fs.copyFileSync(s.cert, path.join(dir, "trusted", path.basename(s.cert)));
  trusted = path.join(dir, "trusted", "*.pem");
  expiredStore = path.dirname(makeExpiredCert(dir));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.each(BROKERS)("message signing on $name", (broker) => {
  describe.each(PYTHONS)("with Python ($label)", (py) => {
    const layout = py.label === "celery-5.2" ? "5.2" : "5.3";
    let lease: BrokerLease;
    const apps: Celery[] = [];
    const workers: Worker[] = [];
    const pyWorkers: PythonWorker[] = [];

    beforeAll(async () => {
      lease = await broker.open(unique("signing"), 10);
    });
    afterAll(async () => {
      for (const w of workers) await w.stop();
      for (const w of pyWorkers) await w.stop();
      for (const a of apps) await a.close();
      await lease?.close();
    });

    const pyEnv = (queue: string, signer: Signer | null = pySigner) => ({
      PYAPP_BROKER: lease.url,
      PYAPP_BACKEND: testRedisUrl(9),
      PYAPP_QUEUES: queue,
      ...(signer ? { PYAPP_SECURITY_KEY: signer.key, PYAPP_SECURITY_CERT: signer.cert, PYAPP_SECURITY_STORE: trusted } : { PYAPP_ACCEPT: "json" }),
    });
    const tsApp = (queue: string, signer: Signer = tsSigner): Celery => {
      const app = new CeleryApp("ts", { broker: lease.url, backend: testRedisUrl(9), taskDefaultQueue: queue, securityLayout: layout });
      app.setupSecurity({ key: signer.key, cert: signer.cert, store: trusted });
      apps.push(app);
      return app;
    };
    const pyCall = (queue: string, task: string, args: unknown[], signer: Signer | null = pySigner) =>
      pyClient(py, ["call", task, "--args", JSON.stringify(args), "--options", JSON.stringify({ queue }), "--timeout", "30", "--no-propagate"], pyEnv(queue, signer)) as Promise<PyOutcome>;
    const pySend = async (queue: string, task: string, args: unknown[], signer: Signer | null) =>
      ((await pyClient(py, ["send", task, "--args", JSON.stringify(args), "--options", JSON.stringify({ queue })], pyEnv(queue, signer))) as { id: string }).id;
    /** A correctly signed task message with one byte of its signed body changed, published as is. */
    const publishTampered = async (app: Celery, queue: string, task: string, args: number[]): Promise<string> => {
      const id = unique("tampered");
      const message = encodeTask({ id, task, args, kwargs: {}, origin: "test", replyTo: "" }, { serializer: "auth", auth: app.security });
      const raw = Buffer.from(message.body.toString(), "base64");
      const at = raw.lastIndexOf(Buffer.from(String(args[0])));
      raw[at] = "9".charCodeAt(0);
      await (await app.connection()).publish({ ...message, body: Buffer.from(raw.toString("base64")) }, { exchange: "", routingKey: queue });
      return id;
    };

    test("a task Python signed runs on a celeriac worker, and Python reads its signed result", async () => {
      const queue = unique("sign-p2c");
      const app = tsApp(queue);
      app.task("ts.add", (x: number, y: number) => x + y);
      workers.push(app.worker({ concurrency: 1, logger: captureLogger() }));
      await workers[workers.length - 1].start();
      const out = await pyCall(queue, "ts.add", [2, 3]);
      expect(out).toMatchObject({ state: "SUCCESS", result: 5 });
    });

    test("unsigned, unknown-signer and tampered tasks never run on a celeriac worker: one line each, and it goes on", async () => {
      const queue = unique("sign-refused");
      const app = tsApp(queue);
      const ran: number[][] = [];
      app.task("ts.add", (x: number, y: number) => {
        ran.push([x, y]);
        return x + y;
      });
      const logger = captureLogger();
      const worker = app.worker({ concurrency: 1, logger });
      workers.push(worker);
      await worker.start();

      const unsigned = await pySend(queue, "ts.add", [1, 1], null);
      const unknown = await pySend(queue, "ts.add", [2, 2], rogue);
      const tampered = await publishTampered(app, queue, "ts.add", [3, 3]);
      const line = (id: string) => logger.lines.filter((l) => l.includes(id));
      await waitFor(() => line(unsigned).length > 0 && line(unknown).length > 0 && line(tampered).length > 0, 30_000);
      expect(line(unsigned)).toEqual([expect.stringMatching(/ERROR.*Received invalid task message: Refusing to deserialize untrusted content of type json/)]);
      expect(line(unknown)).toEqual([
        expect.stringMatching(/CRITICAL.*Can't decode message body: SecurityError: Unable to deserialize: SecurityError\("Unknown certificate: b'celeriac interop rogue signer \d+'"\).*acked, not run/),
      ]);
      expect(line(tampered)).toEqual([expect.stringMatching(/CRITICAL.*SecurityError\('Bad signature: InvalidSignature\(\)'\).*acked, not run/)]);

      expect(await pyCall(queue, "ts.add", [4, 4])).toMatchObject({ state: "SUCCESS", result: 8 });
      expect(ran).toEqual([[4, 4]]);
    });

    test("a task celeriac signed runs on a Python worker, and celeriac reads its signed result", async () => {
      const queue = unique("sign-c2p");
      pyWorkers.push(await startPythonWorker(py, { broker: lease.url, backend: testRedisUrl(9), queues: [queue], pool: "solo", env: pyEnv(queue) }));
      const app = tsApp(queue);
      const result = await app.sendTask("py.add", [20, 22]);
      expect(await result.get({ timeout: 30_000 })).toBe(42);
    });

    test("a Python worker refuses celeriac's unknown-signer and tampered tasks, and goes on", async () => {
      const queue = unique("sign-c2p-refused");
      const worker = await startPythonWorker(py, { broker: lease.url, backend: testRedisUrl(9), queues: [queue], pool: "solo", env: pyEnv(queue) });
      pyWorkers.push(worker);
      const app = tsApp(queue);
      await tsApp(queue, rogue).sendTask("py.add", [5, 5]);
      await worker.waitFor(/Unknown certificate: b'celeriac interop rogue signer \d+'/);
      const tampered = await publishTampered(app, queue, "py.add", [6, 6]);
      // Celery's wording for a bad signature is a TypeError of its own (celery/security/utils.py catches a module).
      await worker.waitFor(new RegExp(`Can't decode message body: DecodeError\\(SecurityError\\(["']Unable to deserialize[^\\n]*${tampered}`));
      expect(await (await app.sendTask("py.add", [7, 7])).get({ timeout: 30_000 })).toBe(14);
      expect(worker.output()).not.toMatch(/py\.add\[[^\]]+\] succeeded[^\n]*: (10|12)\b/);
    });

    test("an expired certificate in the trusted store is refused by both set-ups", async () => {
      const app = new CeleryApp("ts", { broker: lease.url });
      apps.push(app);
      expect(() => app.setupSecurity({ key: tsSigner.key, cert: tsSigner.cert, store: expiredStore })).toThrow(/^Expired certificate: 'expired 4096'$/);
      const code = [
        "import json, sys",
        "from pyapp import app",
        "app.conf.update(task_serializer='auth', result_serializer='auth', accept_content=['auth'])",
        "try:",
        "    app.setup_security(key=sys.argv[1], cert=sys.argv[2], store=sys.argv[3])",
        "    print(json.dumps('set up'))",
        "except Exception as exc:",
        "    print(json.dumps(f'{type(exc).__name__}: {exc}'))",
      ].join("\n");
      const out = await pyInline(py, code.replace("sys.argv[1]", JSON.stringify(pySigner.key)).replace("sys.argv[2]", JSON.stringify(pySigner.cert)).replace("sys.argv[3]", JSON.stringify(expiredStore)), null, { PYAPP_BROKER: lease.url, PYAPP_BACKEND: "" });
      expect(out).toBe("SecurityError: Expired certificate: 'expired 4096'");
    });
  });
});
