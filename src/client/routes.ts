/** taskRoutes resolution: exact name, glob (`tasks.*`) or RegExp, or router functions, first match wins. */
import type { Route, TaskRoutes } from "../config";

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`);
}

function matches(pattern: string | RegExp, name: string): boolean {
  if (pattern instanceof RegExp) return pattern.test(name);
  return pattern === name || (/[*?]/.test(pattern) && globToRegExp(pattern).test(name));
}

/** The route for a task name, or null when no route matches. */
export function resolveRoute(routes: TaskRoutes, taskName: string): Route | null {
  if (!Array.isArray(routes)) {
    for (const [pattern, route] of Object.entries(routes)) if (matches(pattern, taskName)) return route;
    return null;
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
