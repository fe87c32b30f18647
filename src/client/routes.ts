/** taskRoutes resolution as Celery's Router: a map (exact name, then fnmatch globs), or a list of [glob or RegExp, route] pairs and router functions, first match wins. */
import type { Route, TaskRoutes } from "../config";
import { fnmatchToRegExp } from "../protocol/fnmatch";

/**
 * One map of task_routes as Celery's `MapRoute`: an exact task name wins over every glob; a key
 * is a glob only when it has a `*` (then `?` and `[...]` work too, as in fnmatch); globs are tried
 * in the map's order.
 */
function mapRoute(routes: { [pattern: string]: Route }, taskName: string): Route | null {
  if (Object.prototype.hasOwnProperty.call(routes, taskName)) return routes[taskName];
  for (const [pattern, route] of Object.entries(routes)) if (pattern.includes("*") && fnmatchToRegExp(pattern).test(taskName)) return route;
  return null;
}

function matches(pattern: string | RegExp, name: string): boolean {
  if (pattern instanceof RegExp) return pattern.test(name);
  return pattern === name || (pattern.includes("*") && fnmatchToRegExp(pattern).test(name));
}

/** The route for a task name, or null when no route matches. */
export function resolveRoute(routes: TaskRoutes, taskName: string): Route | null {
  if (!Array.isArray(routes)) {
    return mapRoute(routes, taskName);
  }
  for (const entry of routes) {
    if (typeof entry === "function") {
      const route = entry(taskName);
      if (route) return route;
    } else if (matches(entry[0], taskName)) {
      return entry[1];
    }
  }
  return null;
}
