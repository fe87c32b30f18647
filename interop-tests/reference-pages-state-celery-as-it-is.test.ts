/**
 * What the generated reference pages say of Celery (scripts/docs-reference/celery-facts.js) is
 * what the newest Celery (interop-tests/.venv) has: each command's options and arguments as its
 * click command declares them, and exactly the settings whose default differs from celeriac's,
 * with Celery's default as Python writes it. The settings celeriac marks as its own
 * (CELERIAC_ONLY) are those Celery does not have.
 */
import { execFileSync } from "node:child_process";
import { DEFAULTS } from "../src/config";
import { CELERIAC_ONLY, celerySettingName, settingKeys } from "../src/settings-names";
import { PYTHONS } from "../test/support/python";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const facts = require("../scripts/docs-reference/celery-facts.js") as {
  CELERY_DEFAULTS_DIFFER: Record<string, { celery: string; means: string }>;
  CELERY_CLI: { global: string[]; commands: Record<string, string[]> };
};

const latest = PYTHONS.find((p) => p.label === "celery-latest")!;

/** Runs Python code in the newest Celery's venv with `input` as JSON on stdin; its stdout as JSON. */
function python(code: string, input: unknown = null): unknown {
  return JSON.parse(execFileSync(latest.exe, ["-c", code], { input: JSON.stringify(input), encoding: "utf8" }));
}

test("every command's options are those of celery's click command", () => {
  const celery = python(`
import json
from celery.bin.celery import celery
names = lambda c: sorted({o for p in c.params for o in p.opts + p.secondary_opts})
print(json.dumps({"global": names(celery), "commands": {n: names(c) for n, c in celery.commands.items()}}))
`) as { global: string[]; commands: Record<string, string[]> };
  expect([...facts.CELERY_CLI.global].sort()).toEqual(celery.global);
  for (const [command, options] of Object.entries(facts.CELERY_CLI.commands)) expect([command, [...options].sort()]).toEqual([command, celery.commands[command]]);
});

test("the settings whose default differs from Celery's are those the page names, with Celery's default", () => {
  const ours = Object.fromEntries(settingKeys().filter((k) => !CELERIAC_ONLY.has(k)).map((k) => [celerySettingName(k), [k, DEFAULTS[k]]]));
  const celery = python(
    `
import datetime, json, sys
from celery.app.defaults import NAMESPACES, flatten
options = dict(flatten(NAMESPACES))
ours = json.load(sys.stdin)
def plain(v):
    if isinstance(v, datetime.timedelta): return v.total_seconds()
    if isinstance(v, tuple): return list(v)
    return v
out = {"missing": [n for n in ours if n not in options], "differ": {}}
for name, (key, default) in ours.items():
    if name in options and plain(options[name].default) != default:
        out["differ"][key] = repr(options[name].default)
print(json.dumps(out))
`,
    ours,
  ) as { missing: string[]; differ: Record<string, string> };
  expect(celery.missing).toEqual([]);
  expect(celery.differ).toEqual(Object.fromEntries(Object.entries(facts.CELERY_DEFAULTS_DIFFER).map(([k, v]) => [k, v.celery])));
});

test("the settings marked celeriac-only are not Celery's", () => {
  const names = [...CELERIAC_ONLY].map((k) => celerySettingName(k));
  const known = python(
    `
import json, sys
from celery.app.defaults import NAMESPACES, flatten
options = dict(flatten(NAMESPACES))
print(json.dumps([n for n in json.load(sys.stdin) if n in options]))
`,
    names,
  );
  expect(names.length).toBeGreaterThan(0);
  expect(known).toEqual([]);
});
