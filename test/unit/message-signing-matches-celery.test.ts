/**
 * Celery's auth serializer (protocol/security): reads what Celery 5.2 and the newest Celery signed
 * (vectors in test/fixtures/vectors/auth), writes what each reads (Python checks it), and refuses
 * a changed byte, an unknown signer and an expired certificate with Celery's wording.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AuthSerializer, Certificate, CertStore, SecurityError, privateKeyFromPem } from "../../src/protocol/security";
import type { SignatureLayout } from "../../src/protocol/security";
import { decodeResultMeta, decodeGroupMeta, encodeResultMeta } from "../../src/protocol/result-meta";
import { decodeTask } from "../../src/protocol/decode";
import { encodeTask } from "../../src/protocol/encode";
import { pyJsonLoads } from "../../src/protocol/serializers/json";
import { redisEnvelopeToRaw, VECTORS_DIR } from "../support/vectors";
import { PYTHONS } from "../support/python";

const AUTH_DIR = path.join(VECTORS_DIR, "auth");
const read = (name: string): Buffer => fs.readFileSync(path.join(AUTH_DIR, name));
const signerCert = new Certificate(read("signer.pem"));
const signerKey = privateKeyFromPem(read("signer.key"));

interface Capture {
  versions: { celery: string };
  signer_id: string;
  task_id: string;
  group_id: string;
  redis_message: string;
  result_meta: string;
  group_meta: string;
}
const capture = (file: string): Capture => pyJsonLoads(read(file).toString("utf8")) as unknown as Capture;

/** Certificates made by openssl in a temp dir: a fresh self-signed one, or one that expired. */
function makeCert(dir: string, name: string, opts: { expired?: boolean; cn?: string } = {}): { key: string; cert: string } {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.pem`);
  const subj = `/CN=${opts.cn ?? name}`;
  if (!opts.expired) {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", subj], { stdio: "ignore" });
    return { key, cert };
  }
  const ca = path.join(dir, `${name}-ca`);
  fs.mkdirSync(ca);
  fs.writeFileSync(path.join(ca, "index.txt"), "");
  fs.writeFileSync(path.join(ca, "serial"), "1000\n");
  fs.writeFileSync(
    path.join(ca, "ca.cnf"),
    `[ca]\ndefault_ca=x\n[x]\ndatabase=${ca}/index.txt\nnew_certs_dir=${ca}\nserial=${ca}/serial\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n`,
  );
  const csr = path.join(dir, `${name}.csr`);
  execFileSync("openssl", ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", subj], { stdio: "ignore" });
  execFileSync("openssl", ["ca", "-config", path.join(ca, "ca.cnf"), "-selfsign", "-keyfile", key, "-in", csr, "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-batch", "-notext", "-out", cert], { stdio: "ignore" });
  return { key, cert };
}

describe.each([
  ["celery-5.2.json", "5.2"],
  ["celery-5.7.json", "5.3"],
] as const)("what Celery signed (%s, layout %s)", (file, _layout) => {
  const v = capture(file);
  const auth = new AuthSerializer({ store: new CertStore([signerCert]) });

  test("the signer id is Celery's: issuer values, then the serial number in decimal", () => {
    expect(signerCert.id).toBe(v.signer_id);
  });

  test("a signed task message decodes to its args, kwargs and embed", () => {
    const task = decodeTask(redisEnvelopeToRaw(v.redis_message), { accept: ["auth"], auth });
    expect(task).toMatchObject({ id: v.task_id, task: "tasks.add", args: [2, 3], kwargs: { label: "é€" } });
  });

  test("a signed result meta and group meta read back", () => {
    expect(decodeResultMeta(v.result_meta, auth)).toMatchObject({ status: "SUCCESS", result: { sum: 5, text: "é€" }, task_id: v.task_id });
    expect(decodeGroupMeta(v.group_meta, auth).result).toEqual([[v.group_id, null], [[[v.task_id, null], null]]]);
  });

  test("one changed byte in the signed body is refused: Bad signature", () => {
    const raw = Buffer.from(v.result_meta, "base64");
    const at = raw.lastIndexOf(Buffer.from("SUCCESS"));
    raw[at] = "X".charCodeAt(0);
    expect(() => auth.deserialize(Buffer.from(raw.toString("base64")))).toThrow(
      new SecurityError(`Unable to deserialize: SecurityError('Bad signature: InvalidSignature()')`),
    );
  });

  test("a signer missing from the store is refused: Unknown certificate", () => {
    const other = new AuthSerializer({ store: new CertStore() });
    expect(() => other.deserialize(Buffer.from(v.result_meta))).toThrow(
      new SecurityError(`Unable to deserialize: SecurityError("Unknown certificate: b'${v.signer_id}'")`),
    );
  });

  test("without message signing set up, a signed task is refused naming it", () => {
    expect(() => decodeTask(redisEnvelopeToRaw(v.redis_message), { accept: ["json"] })).toThrow(/signed \(serializer auth\) but message signing is not set up/);
  });
});

describe("what celeriac signs", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "celeriac-auth-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const signed = (layout: SignatureLayout): AuthSerializer => new AuthSerializer({ key: signerKey, cert: signerCert, store: new CertStore([signerCert]), layout });

  test.each(["5.2", "5.3"] as const)("layout %s is read here whichever layout this side writes; its first field is the signer id as that Celery writes it", (layout) => {
    const body = signed(layout).serialize([[1, 2], { x: "é" }, {}]);
    expect(body.contentType).toBe("application/data");
    expect(body.contentEncoding).toBe("utf-8");
    expect(signed(layout === "5.2" ? "5.3" : "5.2").deserialize(body.body)).toEqual([[1, 2], { x: "é" }, {}]);
    const fields = Buffer.from(body.body.toString(), "base64").toString("latin1").split("\x00\x01");
    expect(fields[0]).toBe(layout === "5.2" ? signerCert.id : Buffer.from(signerCert.id).toString("base64"));
  });

  test.each(PYTHONS)("$label's Celery reads its layout: a signed task and a signed result meta", (py) => {
    const layout: SignatureLayout = py.label === "celery-5.2" ? "5.2" : "5.3";
    const auth = signed(layout);
    const message = encodeTask({ id: "t-1", task: "tasks.add", args: [4, 5], kwargs: { k: "€" }, origin: "test", replyTo: "" }, { serializer: "auth", auth });
    const meta = encodeResultMeta({ status: "SUCCESS", result: 9, traceback: null, children: [], date_done: null, task_id: "t-1" }, auth);
    const script = [
      "import sys, json",
      "from kombu.serialization import loads",
      "from celery.security.serialization import register_auth",
      "register_auth(None, None, sys.argv[1]) if sys.argv[3] == '5.2' else register_auth(None, None, None, sys.argv[1])",
      "out = [loads(a, 'application/data', 'utf-8', accept=['application/data']) for a in sys.argv[2].split(',')]",
      "print(json.dumps(out))",
    ].join("\n");
    const out = execFileSync(py.exe, ["-c", script, path.join(AUTH_DIR, "signer.pem"), `${message.body.toString()},${meta}`, layout], { encoding: "utf8" });
    expect(JSON.parse(out)).toEqual([
      [[4, 5], { k: "€" }, { callbacks: null, errbacks: null, chain: null, chord: null }],
      { status: "SUCCESS", result: 9, traceback: null, children: [], date_done: null, task_id: "t-1" },
    ]);
  });

  test("an expired certificate is refused by the store, and when it signs after expiring", () => {
    const { cert } = makeCert(dir, "expired", { expired: true });
    const expired = new Certificate(fs.readFileSync(cert));
    expect(expired.hasExpired()).toBe(true);
    expect(() => new CertStore([expired])).toThrow(new SecurityError(`Expired certificate: '${expired.id}'`));

    let now = new Date("2020-01-01T12:00:00Z");
    const store = new CertStore([expired], () => now);
    const { key } = { key: fs.readFileSync(path.join(dir, "expired.key")) };
    const body = new AuthSerializer({ key: privateKeyFromPem(key), cert: expired, layout: "5.3" }).serialize({ a: 1 });
    expect(new AuthSerializer({ store }).deserialize(body.body)).toEqual({ a: 1 });
    now = new Date("2020-01-03T00:00:00Z");
    expect(() => new AuthSerializer({ store }).deserialize(body.body)).toThrow(
      new SecurityError(`Unable to deserialize: SecurityError("Expired certificate: '${expired.id}'")`),
    );
  });

  test("a signer with a fresh certificate the store does not hold is unknown; once added it is trusted", () => {
    const other = makeCert(dir, "other", { cn: "other signer" });
    const otherCert = new Certificate(fs.readFileSync(other.cert));
    const body = new AuthSerializer({ key: privateKeyFromPem(fs.readFileSync(other.key)), cert: otherCert }).serialize([1]);
    expect(() => signed("5.3").deserialize(body.body)).toThrow(/Unknown certificate: b'other signer \d+'/);
    expect(new AuthSerializer({ store: new CertStore([signerCert, otherCert]) }).deserialize(body.body)).toEqual([1]);
  });

  test("a body signed by one key under another's certificate is a bad signature", () => {
    const other = makeCert(dir, "impostor");
    const body = new AuthSerializer({ key: privateKeyFromPem(fs.readFileSync(other.key)), cert: signerCert }).serialize([1]);
    expect(() => signed("5.3").deserialize(body.body)).toThrow(/Bad signature/);
  });

  test("garbage and unsigned bodies are refused, never decoded", () => {
    const auth = signed("5.3");
    expect(() => auth.deserialize(Buffer.from('[[1], {}, {}]'))).toThrow(SecurityError);
    expect(() => auth.deserialize(Buffer.from(""))).toThrow(SecurityError);
    expect(() => auth.deserialize(Buffer.from("AAEAAQ=="))).toThrow(SecurityError);
  });

  test("sha512 signatures verify with sha512 only", () => {
    const store = new CertStore([signerCert]);
    const body = new AuthSerializer({ key: signerKey, cert: signerCert, digest: "sha512" }).serialize([1]);
    expect(new AuthSerializer({ store, digest: "sha512" }).deserialize(body.body)).toEqual([1]);
    expect(() => new AuthSerializer({ store }).deserialize(body.body)).toThrow(/Bad signature/);
  });

  test("an encrypted key needs its password", () => {
    const pem = signerKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "s3cret" });
    expect(() => privateKeyFromPem(pem)).toThrow(/Invalid private key/);
    expect(privateKeyFromPem(pem, "s3cret").asymmetricKeyType).toBe("rsa");
  });
});
