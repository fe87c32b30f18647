import { resolveRoute } from "../../src/client/routes";
import { routeFor } from "../../src/client/producer";
import { resolveConfig } from "../../src/config";

test("a map routes by exact name first match, then glob", () => {
  const routes = { "tasks.add": { queue: "math" }, "tasks.*": { queue: "tasks" }, "*": { queue: "other" } };
  expect(resolveRoute(routes, "tasks.add")).toEqual({ queue: "math" });
  expect(resolveRoute(routes, "tasks.mul")).toEqual({ queue: "tasks" });
  expect(resolveRoute(routes, "billing.charge")).toEqual({ queue: "other" });
});

test("a glob does not match across a literal dot it does not cover", () => {
  expect(resolveRoute({ "tasks.a?d": { queue: "q" } }, "tasks.add")).toEqual({ queue: "q" });
  expect(resolveRoute({ "tasks.a?d": { queue: "q" } }, "tasksXadd")).toBeNull();
});

test("a list accepts RegExp patterns and router functions, in order", () => {
  const routes = [
    (name: string) => (name === "special" ? { queue: "fn" } : null),
    [/^video\.(encode|decode)$/, { queue: "video", priority: 7 }] as [RegExp, { queue: string; priority: number }],
  ];
  expect(resolveRoute(routes, "special")).toEqual({ queue: "fn" });
  expect(resolveRoute(routes, "video.encode")).toEqual({ queue: "video", priority: 7 });
  expect(resolveRoute(routes, "video.other")).toBeNull();
});

test("call options win over routes, routes over the default queue", () => {
  const conf = resolveConfig({ taskRoutes: { "tasks.*": { queue: "routed", priority: 3 } }, taskDefaultQueue: "dflt" }, {});
  expect(routeFor(conf, "tasks.x", {})).toMatchObject({ queue: "routed", priority: 3 });
  expect(routeFor(conf, "tasks.x", { queue: "call", priority: 9 })).toMatchObject({ queue: "call", priority: 9 });
  expect(routeFor(conf, "other", {})).toMatchObject({ queue: "dflt" });
});

test("CELERY_BROKER_URL and CELERY_RESULT_BACKEND are honoured, explicit settings win", () => {
  const env = { CELERY_BROKER_URL: "redis://h:1/2", CELERY_RESULT_BACKEND: "redis://h:1/3" };
  expect(resolveConfig({}, env)).toMatchObject({ broker: "redis://h:1/2", backend: "redis://h:1/3" });
  expect(resolveConfig({ broker: "redis://x/0" }, env).broker).toBe("redis://x/0");
});
