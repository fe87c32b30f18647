/**
 * The operations pages (deployment, troubleshooting, migrating from celery-node, security) name
 * settings in code spans: each camelCase name that starts as Celery's settings do (`task…`,
 * `worker…`, `broker…`, `result…`, `security…`, ...) is one celeriac knows, so a page cannot
 * tell users to set what the code ignores.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { settingKeyOf } from "../../src/settings-names";

const PAGES = ["deployment", "troubleshooting", "migrating-from-celery-node", "security"];
const SETTING_LIKE = /^(task|worker|broker|result|security|redis|accept|beat)[A-Z]\w*$/;
/** troubleshooting.md's example of a misspelt setting (the `Unknown setting` warning). */
const MISSPELT_ON_PURPOSE = new Set(["taskAckLate"]);

/** The setting-like names in a page's code spans (a span holding only the name, or `name: value`). */
function settingNames(page: string): string[] {
  const spans = [...page.matchAll(/`([^`\n]+)`/g)].map((m) => m[1].trim());
  return spans.map((s) => /^(\w+)(?::\s.*)?$/.exec(s)?.[1] ?? "").filter((name) => SETTING_LIKE.test(name) && !MISSPELT_ON_PURPOSE.has(name));
}

const names = PAGES.flatMap((page) => {
  const text = readFileSync(resolve(__dirname, `../../docs/guides/${page}.md`), "utf8");
  return [...new Set(settingNames(text))].map((name) => [page, name] as const);
});

test("the pages name settings (the scan finds them) and an unknown one would be caught", () => {
  expect(names.length).toBeGreaterThan(15);
  expect(names.map(([, n]) => n)).toEqual(expect.arrayContaining(["taskAcksLate", "securityLayout", "brokerUseSsl"]));
  expect(settingKeyOf("taskAckLate")).toBeUndefined();
});

test.each(names)("%s.md: %s is a celeriac setting", (_page, name) => {
  expect(settingKeyOf(name)).toBe(name);
});
