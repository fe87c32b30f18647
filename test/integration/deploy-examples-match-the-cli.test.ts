/**
 * examples/deploy/ (the systemd unit, the Dockerfile, the Kubernetes manifest) stays true of the
 * built CLI: every option they pass exists in `celeriac worker --help`, the probes and ports are
 * the `--metrics-port`, the options the guides name exist too, the stop timeouts outlast the task time limit, and the manifest's command
 * line, run as the kubelet would run it (URLs from the environment), serves /readyz and /healthz
 * and finishes a running task on SIGTERM before it exits 0. Build first: npm run build.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Celery } from "../../src";
import { TSAPP } from "../support/app";
import { dockerfile, k8sDeployment, optionsOf, unitDirective, unitFile, valueOf, workerHelpOptions } from "../support/deploy-examples";
import { freePort } from "../support/flower";
import { testRedisUrl } from "../support/redis";
import { waitFor } from "../support/wait";

const ROOT = resolve(__dirname, "../..");
const help = workerHelpOptions();
const unit = unitFile();
const docker = dockerfile();
const deployment = k8sDeployment();
const container = deployment.spec.template.spec.containers[0];

test("the help lists the worker's options (the parse of --help works)", () => {
  for (const option of ["-A", "--app", "-c", "--concurrency", "--metrics-port", "--time-limit", "-n"]) expect(help.has(option)).toBe(true);
  expect(help.has("--no-such-option")).toBe(false);
});

test.each([
  ["celeriac-worker.service", unit.args],
  ["Dockerfile", docker.cmd],
  ["k8s-worker.yaml", container.args],
])("every option of %s is one of `celeriac worker --help`", (_file, args) => {
  expect(args[0]).toBe("worker");
  const unknown = optionsOf(args).filter((o) => !help.has(o));
  expect(unknown).toEqual([]);
  expect(optionsOf(args).length).toBeGreaterThan(3);
});

test.each(["deployment", "troubleshooting", "migrating-from-celery-node"])("every worker option %s.md names in a code span is in the --help", (page) => {
  const text = readFileSync(resolve(ROOT, `docs/guides/${page}.md`), "utf8");
  // Code spans that start with an option (`-c 4`, `--time-limit 300`, `-Q celery,emails` / ...).
  const named = [...text.matchAll(/`(-{1,2}[a-zA-Z][\w-]*)[^`]*`/g)].map((m) => m[1]);
  expect(named.filter((o) => !help.has(o))).toEqual([]);
  if (page === "deployment") expect(named.length).toBeGreaterThan(10);
});

test("the systemd unit stops the worker warm and waits longer than its time limit", () => {
  expect(unitDirective(unit.text, "KillSignal")).toBe("SIGTERM");
  // Only the main process gets SIGTERM: a prefork child dies of it (WorkerLostError).
  expect(unitDirective(unit.text, "KillMode")).toBe("mixed");
  expect(Number(unitDirective(unit.text, "TimeoutStopSec"))).toBeGreaterThan(Number(valueOf(unit.args, "--time-limit")));
  expect(unitDirective(unit.text, "Restart")).toBe("always");
  expect(unit.text).not.toMatch(/:\/\/[^\s:@/]*:[^\s@/]+@/); // no URL with a password in the unit
});

// systemd's own parser (Debian's systemd package); its only complaint may be the absent executable.
const SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze";
(existsSync(SYSTEMD_ANALYZE) ? test : test.skip)("systemd-analyze verify finds nothing wrong in the unit", () => {
  const run = spawnSync(SYSTEMD_ANALYZE, ["verify", "--man=no", resolve(ROOT, "examples/deploy/celeriac-worker.service")], { encoding: "utf8" });
  const complaints = `${run.stdout}${run.stderr}`.split("\n").filter((l) => l.trim() && !/Command \S+ is not executable/.test(l));
  expect(complaints).toEqual([]);
});

test("the Dockerfile runs the CLI as PID 1 (exec form), as a non-root user, exposing the metrics port", () => {
  expect(docker.text).toMatch(/^FROM node:20-slim$/m);
  expect(docker.text).toMatch(/^RUN npm ci --omit=dev/m);
  expect(docker.text).toMatch(/^USER node$/m);
  expect(docker.text).toMatch(/^STOPSIGNAL SIGTERM$/m);
  expect(docker.entrypoint).toEqual(["node_modules/.bin/celeriac"]);
  // COPY . . after npm ci: the host's node_modules must stay out of the build context.
  expect(readFileSync(resolve(ROOT, "examples/deploy/.dockerignore"), "utf8")).toMatch(/^node_modules$/m);
  expect(docker.text).toMatch(new RegExp(`^EXPOSE ${valueOf(docker.cmd, "--metrics-port")}$`, "m"));
});

test("the manifest's probes and port are the --metrics-port; its grace period outlasts the time limit", () => {
  expect(deployment.kind).toBe("Deployment");
  const port = Number(valueOf(container.args, "--metrics-port"));
  expect(port).toBeGreaterThan(0);
  expect(container.ports?.map((p) => p.containerPort)).toEqual([port]);
  expect(container.livenessProbe?.httpGet).toEqual({ path: "/healthz", port });
  expect(container.readinessProbe?.httpGet).toEqual({ path: "/readyz", port });
  expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(Number(valueOf(container.args, "--time-limit")));
  expect(container.envFrom?.[0].secretRef?.name).toBeTruthy();
});

test("the manifest's command line serves the probes and, on SIGTERM, finishes its running task and exits 0", async () => {
  const port = await freePort();
  const queue = `deploy-${randomUUID().slice(0, 8)}`;
  // As the kubelet runs it: the image's entrypoint with these args; the app module is the test
  // app, the port a free one; the URLs come from the environment (the Secret of the manifest).
  const args = container.args.map((a, i, all) => (all[i - 1] === "-A" ? TSAPP : all[i - 1] === "--metrics-port" ? String(port) : a));
  const env = { ...process.env, CELERY_BROKER_URL: testRedisUrl(0), CELERY_RESULT_BACKEND: testRedisUrl(1), TSAPP_QUEUE: queue };
  const child = spawn(process.execPath, [resolve(ROOT, "dist/cli/main.js"), ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const status = async (path: string): Promise<number> =>
    fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 0);
  const app = new Celery("deploy", { broker: testRedisUrl(0), backend: testRedisUrl(1), taskDefaultQueue: queue });
  try {
    await waitFor(async () => (await status("/readyz")) === 200, 30_000, `/readyz to say 200 (${out})`);
    expect(await status("/healthz")).toBe(200);
    const result = await app.sendTask("ts.sleep", [2, "warm"]);
    await waitFor(() => out.includes(`ts.sleep[${result.id}]`), 10_000, "the task to be received");
    child.kill("SIGTERM");
    await waitFor(async () => (await status("/readyz")) === 503, 5_000, "/readyz to say 503 while shutting down");
    expect(await result.get({ timeout: 15_000 })).toBe("warm");
    expect(await exited).toBe(0);
    expect(out).toContain("Warm shutdown (MainProcess)");
  } finally {
    child.kill("SIGKILL");
    await app.close();
  }
}, 60_000);
