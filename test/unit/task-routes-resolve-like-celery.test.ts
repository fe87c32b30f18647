import { resolveRoute } from "../../src/client/routes";
import { routeFor } from "../../src/client/producer";
import { resolveConfig } from "../../src/settings";
import { execFileSync } from "child_process";

/** celery.app.routes.MapRoute of Celery 5.2 (/usr/bin/python3) for the same maps and names. */
function celeryMapRoute(): { map: unknown[]; re: unknown[] } {
  const code = `import json, re
from celery.app.routes import MapRoute
r = MapRoute({'tasks.add': {'queue': 'math'}, 'tasks.*': {'queue': 'tasks'}, '*': {'queue': 'other'}})
v = MapRoute({re.compile(r'^video\\.(encode|decode)$'): {'queue': 'video', 'priority': 7}})
print(json.dumps({'map': [r(n) for n in ['tasks.add', 'tasks.mul', 'billing.charge']],
                  're': [v(n) for n in ['video.encode', 'video.other']]}))`;
  return JSON.parse(execFileSync("/usr/bin/python3", ["-c", code], { encoding: "utf8" })) as { map: unknown[]; re: unknown[] };
}

test("a map routes by exact name first match, then glob", () => {
  const routes = { "tasks.add": { queue: "math" }, "tasks.*": { queue: "tasks" }, "*": { queue: "other" } };
  expect(["tasks.add", "tasks.mul", "billing.charge"].map((n) => resolveRoute(routes, n))).toEqual(celeryMapRoute().map);
  expect(resolveRoute(routes, "tasks.add")).toEqual({ queue: "math" });
  expect(resolveRoute(routes, "tasks.mul")).toEqual({ queue: "tasks" });
  expect(resolveRoute(routes, "billing.charge")).toEqual({ queue: "other" });
});

test("a key is a glob only with a `*` (then fnmatch: ?, [seq], [!seq]); an exact name wins over an earlier glob", () => {
  const maps: Array<{ [pattern: string]: { queue: string } }> = [
    { "tasks.a?d": { queue: "q" } },
    { "tasks.[am]*": { queue: "am" }, "tasks.[!am]?*": { queue: "other" } },
    { "tasks.*": { queue: "glob" }, "tasks.add": { queue: "exact" } },
    { "tasks.a*d": { queue: "q" } },
  ];
  const names = ["tasks.add", "tasks.a?d", "tasks.mul", "tasks.sub", "tasksXadd", "tasks.a.d"];
  const code = `import json, sys
from celery.app.routes import MapRoute
maps, names = json.loads(sys.argv[1])
print(json.dumps([[MapRoute(m)(n) for n in names] for m in maps]))`;
  const celery = JSON.parse(execFileSync("/usr/bin/python3", ["-c", code, JSON.stringify([maps, names])], { encoding: "utf8" })) as unknown[][];
  expect(maps.map((m) => names.map((n) => resolveRoute(m, n)))).toEqual(celery);
  // what Celery 5.2 answers, spelled out
  expect(resolveRoute(maps[0], "tasks.add")).toBeNull();
  expect(resolveRoute(maps[1], "tasks.mul")).toEqual({ queue: "am" });
  expect(resolveRoute(maps[2], "tasks.add")).toEqual({ queue: "exact" });
});

test("a list accepts RegExp patterns and router functions, in order", () => {
  const routes = [
    (name: string) => (name === "special" ? { queue: "fn" } : null),
    [/^video\.(encode|decode)$/, { queue: "video", priority: 7 }] as [RegExp, { queue: string; priority: number }],
  ];
  expect(resolveRoute(routes, "special")).toEqual({ queue: "fn" });
  expect(resolveRoute(routes, "video.encode")).toEqual({ queue: "video", priority: 7 });
  expect(resolveRoute(routes, "video.other")).toBeNull();
  // the RegExp entry as Celery's MapRoute reads a compiled re pattern (router functions have a
  // different signature in Python: (name, args, kwargs, options, task=None, **kw))
  expect(["video.encode", "video.other"].map((n) => resolveRoute(routes, n))).toEqual(celeryMapRoute().re);
});

// celery/app/routes.py Router.route: lpmerge(self.expand_destination(route), options), so call
// options win; without a route the task goes to task_default_queue
test("call options win over routes, routes over the default queue", () => {
  const conf = resolveConfig({ taskRoutes: { "tasks.*": { queue: "routed", priority: 3 } }, taskDefaultQueue: "dflt" }, {});
  expect(routeFor(conf, "tasks.x", {})).toMatchObject({ queue: "routed", priority: 3 });
  expect(routeFor(conf, "tasks.x", { queue: "call", priority: 9 })).toMatchObject({ queue: "call", priority: 9 });
  expect(routeFor(conf, "other", {})).toMatchObject({ queue: "dflt" });
});

// As Celery's Settings.broker_url / result_backend (checked against both Celerys in
// interop-tests/settings-resolve-like-celery.test.ts): the environment wins over the code.
test("CELERY_BROKER_URL and CELERY_RESULT_BACKEND win over the settings in code", () => {
  const env = { CELERY_BROKER_URL: "redis://h:1/2", CELERY_RESULT_BACKEND: "redis://h:1/3" };
  expect(resolveConfig({}, env)).toMatchObject({ broker: "redis://h:1/2", backend: "redis://h:1/3" });
  expect(resolveConfig({ broker: "redis://x/0" }, env).broker).toBe("redis://h:1/2");
});
