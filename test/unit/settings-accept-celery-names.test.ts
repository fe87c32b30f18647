import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Celery } from "../../src";
import { resolveConfig, normalizeSettings, envSettings } from "../../src/settings";
import { celerySettingName, settingKeyOf } from "../../src/settings-names";
import { annotationsFor } from "../../src/task-annotations";

const ROOT = join(__dirname, "..", "..");

/** The CeleriacWarning lines Node prints to stderr while `script` runs with the built package as `celeriac`. */
function warningsOf(script: string): string[] {
  const out = spawnSync(process.execPath, ["-e", `const celeriac = require(${JSON.stringify(join(ROOT, "dist"))});\n${script}`], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(out.stderr);
  return out.stderr.split("\n").filter((l) => l.includes("CeleriacWarning")).map((l) => l.replace(/^\(node:\d+\) CeleriacWarning: /, ""));
}

const NO_ENV = {};

test("Celery's snake_case names, their camelCase and the old upper-case names mean the same setting", () => {
  expect(settingKeyOf("broker_url")).toBe("broker");
  expect(settingKeyOf("brokerUrl")).toBe("broker");
  expect(settingKeyOf("BROKER_URL")).toBe("broker");
  expect(settingKeyOf("result_backend")).toBe("backend");
  expect(settingKeyOf("resultBackend")).toBe("backend");
  expect(settingKeyOf("CELERY_RESULT_BACKEND")).toBe("backend");
  expect(settingKeyOf("task_serializer")).toBe("taskSerializer");
  expect(settingKeyOf("CELERYD_CONCURRENCY")).toBe("workerConcurrency");
  expect(settingKeyOf("CELERY_TASK_RESULT_EXPIRES")).toBe("resultExpires");
  expect(settingKeyOf("task_annotations")).toBe("taskAnnotations");
  expect(settingKeyOf("nope")).toBeUndefined();
  expect(celerySettingName("broker")).toBe("broker_url");
  expect(celerySettingName("workerPrefetchMultiplier")).toBe("worker_prefetch_multiplier");
});

test("the app constructor takes Celery's names (broker_url was ignored before)", () => {
  const app = new Celery("t", { broker_url: "redis://b:1/0", result_backend: "redis://b:1/1", task_serializer: "msgpack", worker_concurrency: 3 });
  expect(app.conf).toMatchObject({ broker: "redis://b:1/0", backend: "redis://b:1/1", taskSerializer: "msgpack", workerConcurrency: 3 });
  const camel = new Celery("t", { brokerUrl: "redis://c:1/0", resultBackend: null });
  expect(camel.conf.broker).toBe("redis://c:1/0");
  expect(camel.conf.backend).toBeNull();
});

test("conf reads and writes a setting under any of its names; the spread conf has only celeriac's keys", () => {
  const conf = resolveConfig({}, NO_ENV) as ReturnType<typeof resolveConfig> & Record<string, unknown>;
  conf.task_default_queue = "q1";
  expect(conf.taskDefaultQueue).toBe("q1");
  conf.CELERYD_PREFETCH_MULTIPLIER = 7;
  expect(conf.workerPrefetchMultiplier).toBe(7);
  expect(conf.worker_prefetch_multiplier).toBe(7);
  conf.broker_url = "redis://set:1/0";
  expect(conf.broker).toBe("redis://set:1/0");
  const keys = Object.keys({ ...conf });
  expect(keys).toContain("broker");
  expect(keys).not.toContain("broker_url");
});

test("configFromObject ranks below the constructor and conf assignments, and a later object replaces an earlier one", () => {
  const app = new Celery("t", { broker: "redis://ctor:1/0" });
  app.configFromObject({ broker_url: "redis://obj:1/0", task_acks_late: true, result_expires: 60 });
  expect(app.conf.broker).toBe("redis://ctor:1/0"); // Celery: the constructor's broker wins too
  expect(app.conf.taskAcksLate).toBe(true);
  (app.conf as unknown as Record<string, unknown>).result_expires = 5;
  app.configFromObject({ CELERY_TASK_RESULT_EXPIRES: 99, CELERYD_CONCURRENCY: 2 });
  expect(app.conf.resultExpires).toBe(5);
  expect(app.conf.taskAcksLate).toBe(false); // the first object's setting is gone
  expect(app.conf.workerConcurrency).toBe(2);
});

test("configFromObject with Celery's namespace reads Django-style CELERY_ names and leaves other keys alone", () => {
  const app = new Celery("t", {});
  app.configFromObject({ CELERY_BROKER_URL: "redis://dj:1/0", CELERY_TASK_ACKS_LATE: true, CELERY_WORKER_PREFETCH_MULTIPLIER: 1, DEBUG: true, INSTALLED_APPS: [] }, { namespace: "CELERY" });
  expect(app.conf).toMatchObject({ taskAcksLate: true, workerPrefetchMultiplier: 1 });
  if (!process.env.CELERY_BROKER_URL) expect(app.conf.broker).toBe("redis://dj:1/0");
  expect(app.conf).not.toHaveProperty("DEBUG");
  // unknown names are warned about and kept, as Celery keeps any key
  app.configFromObject({ CELERY_MY_OWN: 1 }, { namespace: "CELERY" });
  expect(app.conf).toMatchObject({ CELERY_MY_OWN: 1, taskAcksLate: false });
  app.configFromObject({});
  expect(app.conf).not.toHaveProperty("CELERY_MY_OWN");
  const warnings = warningsOf(`new celeriac.Celery("t").configFromObject({ DEBUG: true, CELERY_TASK_ACKS_LTE: 1, CELERY_BROKER_URL: "redis://x/0" }, { namespace: "CELERY" });`);
  expect(warnings).toEqual(["Unknown setting 'CELERY_TASK_ACKS_LTE' (did you mean 'task_acks_late'?)"]);
  expect(normalizeSettings({ celery_task_serializer: "yaml" }, { namespace: "celery" })).toEqual({ taskSerializer: "yaml" });
});

test("configFromObject loads a module path (relative to the working directory, path:attribute, an ES module's default)", () => {
  const dir = mkdtempSync(join(tmpdir(), "celeriac-conf-"));
  writeFileSync(join(dir, "celeryconfig.js"), "module.exports = { task_default_queue: 'from-module', CELERYD_CONCURRENCY: 5 };\n");
  writeFileSync(join(dir, "django.js"), "exports.settings = { CELERY_TASK_DEFAULT_QUEUE: 'from-attr' };\n");
  writeFileSync(join(dir, "esm.js"), "Object.defineProperty(exports, '__esModule', { value: true }); exports.default = { taskDefaultQueue: 'from-default' };\n");
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    expect(new Celery("t").configFromObject("./celeryconfig").conf).toMatchObject({ taskDefaultQueue: "from-module", workerConcurrency: 5 });
    expect(new Celery("t").configFromObject("celeryconfig").conf.taskDefaultQueue).toBe("from-module");
    expect(new Celery("t").configFromObject("./django:settings", { namespace: "CELERY" }).conf.taskDefaultQueue).toBe("from-attr");
    expect(new Celery("t").configFromObject(join(dir, "esm.js")).conf.taskDefaultQueue).toBe("from-default");
  } finally {
    process.chdir(cwd);
  }
});

test("an unknown setting name warns once, with the nearest known name", () => {
  const warnings = warningsOf(`
    for (let i = 0; i < 2; i++) {
      const app = new celeriac.Celery("t", { task_serialiser: "json" });
      app.conf.task_serialiser = "json";
      app.conf.workerConcurency = 2;
      app.conf.task_serializer = "json";
    }`);
  expect(warnings).toEqual([
    "Unknown setting 'task_serialiser' (did you mean 'task_serializer'?)",
    "Unknown setting 'workerConcurency' (did you mean 'workerConcurrency'?)",
  ]);
});

test("the environment's broker and backend are read whenever the setting is read", () => {
  const env: NodeJS.ProcessEnv = {};
  const conf = resolveConfig({ broker: "redis://code:1/0" }, env);
  expect(conf.broker).toBe("redis://code:1/0");
  env.CELERY_BROKER_URL = "redis://env:1/0";
  expect(conf.broker).toBe("redis://env:1/0");
  env.CELERY_BROKER_URL = ""; // empty: not set, as Celery's `or`
  expect(conf.broker).toBe("redis://code:1/0");
  expect(envSettings({ CELERY_RESULT_BACKEND: "rpc://" })).toEqual({ backend: "rpc://" });
});

test("task_annotations: the first mapping naming the task, then the first with '*', which wins", () => {
  const annotations = [{ "tasks.a": { rate_limit: "1/s", time_limit: 5 } }, { "*": { rate_limit: "9/s" }, "tasks.a": { acks_late: true } }];
  expect(annotationsFor(annotations, "tasks.a")).toEqual({ rateLimit: "9/s", timeLimit: 5 });
  expect(annotationsFor(annotations, "tasks.b")).toEqual({ rateLimit: "9/s" });
  expect(annotationsFor({ "tasks.a": { acksLate: true } }, "tasks.a")).toEqual({ acksLate: true });
  const object = { annotate: (t: { name: string }) => (t.name === "tasks.a" ? { soft_time_limit: 2 } : null) };
  expect(annotationsFor(object, "tasks.a")).toEqual({ softTimeLimit: 2 });
  expect(annotationsFor(object, "tasks.b")).toEqual({});
  const throwing = { annotate: (): never => { throw new Error("bad annotator"); } };
  expect(annotationsFor([throwing, { "*": { acks_late: true } }], "tasks.a")).toEqual({ acksLate: true }); // skipped (warned), never thrown into the worker
});

test("task_annotations override a task's declared options, also when configured after the task", () => {
  const app = new Celery("t", { task_annotations: { "tasks.a": { rate_limit: "10/s" } } });
  const a = app.task("tasks.a", () => 1, { rateLimit: "1/m", softTimeLimit: 2 });
  expect(a.options).toMatchObject({ rateLimit: "10/s", softTimeLimit: 2 });
  app.conf.taskAnnotations = { "*": { time_limit: 30 } };
  expect(a.options).toMatchObject({ rateLimit: "1/m", timeLimit: 30 });
  expect({ ...a.options }).toEqual({ rateLimit: "1/m", softTimeLimit: 2, timeLimit: 30 });
});
