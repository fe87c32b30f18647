import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyCeleryConfig, readCeleryConfigFile } from "../../src/config-file";
import { resolveConfig } from "../../src/settings";

const appWith = () => ({ conf: resolveConfig({}, {}) });

test("Celery's names (and Django's CELERY_ form) land on our settings; task_queues goes to the worker", () => {
  const app = appWith();
  const applied = applyCeleryConfig(app, {
    broker_url: "redis://h:6379/0",
    CELERY_RESULT_BACKEND: "django-db",
    task_routes: { "node.*": { queue: "node", routing_key: "node.k" }, "py.x": "pyq" },
    result_extended: true,
    task_time_limit: 30,
    timezone: "Europe/Berlin",
    task_queues: ["node"],
    django_database: { ENGINE: "django.db.backends.postgresql", NAME: "proj" },
  });
  expect(applied).toEqual({ queues: ["node"] });
  expect(app.conf).toMatchObject({
    broker: "redis://h:6379/0",
    backend: "django-db",
    taskRoutes: { "node.*": { queue: "node", routingKey: "node.k" }, "py.x": { queue: "pyq" } },
    resultExtended: true,
    taskTimeLimit: 30,
    timezone: "Europe/Berlin",
    djangoDatabase: { ENGINE: "django.db.backends.postgresql", NAME: "proj" },
  });
});

test("an unknown name or a wrong type is refused, naming it", () => {
  expect(() => applyCeleryConfig(appWith(), { task_rotues: {} })).toThrow(/unknown setting task_rotues/);
  expect(() => applyCeleryConfig(appWith(), { result_extended: "yes" })).toThrow(/result_extended must be true or false/);
  expect(() => applyCeleryConfig(appWith(), { task_routes: ["x"] })).toThrow(/task_routes must be a mapping/);
});

test("JSON, YAML, .cjs and .mjs files are read", async () => {
  const dir = mkdtempSync(join(tmpdir(), "celeriac-config-"));
  const files: [string, string][] = [
    ["c.json", '{"task_default_queue": "node"}'],
    ["c.yaml", "task_default_queue: node\n"],
    ["c.cjs", 'module.exports = { task_default_queue: "node" };'],
  ];
  for (const [name, text] of files) {
    writeFileSync(join(dir, name), text);
    expect(await readCeleryConfigFile(join(dir, name))).toEqual({ task_default_queue: "node" });
  }
  // an ES module, through the built code (jest's sandbox has no dynamic import)
  writeFileSync(join(dir, "c.mjs"), 'export default { task_default_queue: "node" };');
  const code = "require(process.argv[1]).readCeleryConfigFile(process.argv[2]).then((v) => console.log(JSON.stringify(v)))";
  const out = execFileSync(process.execPath, ["-e", code, join(__dirname, "../../dist/config-file.js"), join(dir, "c.mjs")], { encoding: "utf8" });
  expect(JSON.parse(out)).toEqual({ task_default_queue: "node" });
  writeFileSync(join(dir, "c.txt"), "");
  await expect(readCeleryConfigFile(join(dir, "c.txt"))).rejects.toThrow(/\.json, \.yaml/);
});
