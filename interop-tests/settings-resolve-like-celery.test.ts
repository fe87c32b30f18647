/**
 * Settings resolve as real Celery resolves them (both Celerys, run here):
 * - seen with Celery 5.2.6 and 5.7: CELERY_BROKER_URL / CELERY_RESULT_BACKEND win over the
 *   constructor's broker/backend, over `app.conf.broker_url = ...` and over config_from_object;
 *   without them, the constructor's broker wins over config_from_object, and a namespace
 *   ("CELERY") reads CELERY_BROKER_URL / CELERY_TASK_SERIALIZER keys;
 * - every celeriac setting's Celery name is one of Celery's settings (but celeriac's own), and its
 *   old upper-case name is Celery's;
 * - task_annotations give a task the attributes Celery gives it.
 */
import { Celery } from "../src";
import { DEFAULTS } from "../src/config";
import { celerySettingName, settingNamesOf } from "../src/settings-names";
import type { SettingKey } from "../src/settings-names";
import { PYTHONS, pyInline } from "../test/support/python";

/** Settings Celery does not have: celeriac's own. */
const CELERIAC_ONLY = new Set([
  "worker_max_message_size",
  "worker_max_nesting_depth",
  "task_protocol_extras",
  "security_layout",
  "django_database",
  "beat_scheduler_redis_url",
  "beat_scheduler_key_prefix",
  "beat_scheduler_lease_timeout",
]);

const PY_PRECEDENCE = String.raw`
import json, os, sys
from celery import Celery
out = {}
def case(name, env, make):
    for k in ('CELERY_BROKER_URL', 'CELERY_RESULT_BACKEND'):
        os.environ.pop(k, None)
    os.environ.update(env)
    app = make()
    out[name] = {'broker': app.conf.broker_url, 'backend': app.conf.result_backend, 'serializer': app.conf.task_serializer}
for name, env in json.load(sys.stdin)['envs'].items():
    case(name + ':ctor', env, lambda: Celery('x', broker='redis://code:2/0', backend='redis://code:2/1', set_as_current=False))
    def assigned():
        a = Celery('x', set_as_current=False)
        a.conf.broker_url = 'redis://set:3/0'
        a.conf.result_backend = 'redis://set:3/1'
        return a
    case(name + ':assigned', env, assigned)
    def from_object():
        a = Celery('x', set_as_current=False)
        a.config_from_object({'broker_url': 'redis://obj:4/0', 'result_backend': 'redis://obj:4/1'})
        return a
    case(name + ':object', env, from_object)
    def ctor_and_object():
        a = Celery('x', broker='redis://code:2/0', set_as_current=False)
        a.config_from_object({'broker_url': 'redis://obj:4/0'})
        return a
    case(name + ':ctor+object', env, ctor_and_object)
    def namespaced():
        a = Celery('x', set_as_current=False)
        a.config_from_object({'CELERY_BROKER_URL': 'redis://dj:5/0', 'CELERY_TASK_SERIALIZER': 'msgpack', 'DEBUG': True}, namespace='CELERY')
        return a
    case(name + ':namespace', env, namespaced)
print(json.dumps(out))
`;

const ENVS: Record<string, Record<string, string>> = {
  noenv: {},
  env: { CELERY_BROKER_URL: "redis://envhost:1/0", CELERY_RESULT_BACKEND: "redis://envhost:1/1" },
};

/** What celeriac resolves for the same cases. */
function celeriacPrecedence(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const saved = { broker: process.env.CELERY_BROKER_URL, backend: process.env.CELERY_RESULT_BACKEND };
  try {
    for (const [name, env] of Object.entries(ENVS)) {
      const cases: Record<string, () => Celery> = {
        ctor: () => new Celery("x", { broker: "redis://code:2/0", backend: "redis://code:2/1" }),
        assigned: () => {
          const a = new Celery("x");
          Object.assign(a.conf, { broker_url: "redis://set:3/0", result_backend: "redis://set:3/1" });
          return a;
        },
        object: () => new Celery("x").configFromObject({ broker_url: "redis://obj:4/0", result_backend: "redis://obj:4/1" }),
        "ctor+object": () => new Celery("x", { broker: "redis://code:2/0" }).configFromObject({ broker_url: "redis://obj:4/0" }),
        namespace: () => new Celery("x").configFromObject({ CELERY_BROKER_URL: "redis://dj:5/0", CELERY_TASK_SERIALIZER: "msgpack", DEBUG: true }, { namespace: "CELERY" }),
      };
      for (const [label, make] of Object.entries(cases)) {
        delete process.env.CELERY_BROKER_URL;
        delete process.env.CELERY_RESULT_BACKEND;
        Object.assign(process.env, env);
        const app = make();
        out[`${name}:${label}`] = { broker: app.conf.broker, backend: app.conf.backend, serializer: app.conf.taskSerializer };
      }
    }
  } finally {
    for (const [k, v] of [["CELERY_BROKER_URL", saved.broker], ["CELERY_RESULT_BACKEND", saved.backend]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return out;
}

const PY_NAMES = String.raw`
import json, sys
from celery.app.defaults import SETTING_KEYS, _TO_OLD_KEY
names = json.load(sys.stdin)['names']
print(json.dumps({n: {'known': n in SETTING_KEYS, 'old': _TO_OLD_KEY.get(n)} for n in names}))
`;

const PY_ANNOTATIONS = String.raw`
import json, sys
from celery import Celery
req = json.load(sys.stdin)
app = Celery('x', set_as_current=False)
app.conf.task_annotations = req['annotations']
attrs = ('rate_limit', 'time_limit', 'soft_time_limit', 'acks_late', 'max_retries')
def run():
    return None
tasks = {}
for name, declared in req['tasks'].items():
    tasks[name] = app.task(name=name, **declared)(run)
app.finalize()
print(json.dumps({name: {a: getattr(t, a) for a in attrs} for name, t in tasks.items()}))
`;

const ANNOTATIONS = [{ "tasks.a": { rate_limit: "1/s", time_limit: 5 } }, { "*": { rate_limit: "9/s", max_retries: 7 }, "tasks.a": { acks_late: true } }, { "tasks.b": { soft_time_limit: 3 } }];
const DECLARED: Record<string, Record<string, unknown>> = { "tasks.a": { rate_limit: "3/m", soft_time_limit: 2 }, "tasks.b": { acks_late: true }, "tasks.c": {} };

describe.each(PYTHONS)("settings resolve as $label resolves them", (py) => {
  test("the environment's broker and backend win over code, assignments and config objects; the constructor over config objects", async () => {
    const python = await pyInline(py, PY_PRECEDENCE, { envs: ENVS });
    expect(celeriacPrecedence()).toEqual(python);
    // What both Celerys printed, spelled out:
    expect(python).toMatchObject({
      "env:ctor": { broker: "redis://envhost:1/0", backend: "redis://envhost:1/1" },
      "env:assigned": { broker: "redis://envhost:1/0" },
      "env:object": { broker: "redis://envhost:1/0" },
      "noenv:ctor+object": { broker: "redis://code:2/0" },
      "noenv:namespace": { broker: "redis://dj:5/0", serializer: "msgpack" },
    });
  });

  test("every setting's Celery name is Celery's (but celeriac's own), with Celery's old name", async () => {
    const keys = Object.keys(DEFAULTS) as SettingKey[];
    const names = keys.map(celerySettingName);
    const python = (await pyInline(py, PY_NAMES, { names })) as Record<string, { known: boolean; old: string | null }>;
    const version52 = py.label === "celery-5.2";
    for (const key of keys) {
      const name = celerySettingName(key);
      if (CELERIAC_ONLY.has(name)) continue;
      // Settings newer than 5.2 are not in Debian's Celery.
      if (version52 && !python[name].known) continue;
      expect({ name, known: python[name].known }).toEqual({ name, known: true });
      const old = settingNamesOf(key).find((n) => /^[A-Z_]+$/.test(n));
      expect({ name, old }).toEqual({ name, old: python[name].old ?? undefined });
    }
  });

  test("task_annotations give each task the attributes Celery gives it", async () => {
    const python = await pyInline(py, PY_ANNOTATIONS, { annotations: ANNOTATIONS, tasks: DECLARED });
    const app = new Celery("x", { task_annotations: ANNOTATIONS });
    const celeriac: Record<string, unknown> = {};
    for (const [name, declared] of Object.entries(DECLARED)) {
      const camel = Object.fromEntries(Object.entries(declared).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]));
      const o = app.task(name, () => null, camel).options;
      celeriac[name] = {
        rate_limit: o.rateLimit ?? null,
        time_limit: o.timeLimit ?? null,
        soft_time_limit: o.softTimeLimit ?? null,
        acks_late: o.acksLate ?? false,
        max_retries: o.maxRetries ?? 3,
      };
    }
    expect(celeriac).toEqual(python);
  });
});
