/**
 * docs/guides/migrating-from-celery-node.md maps celery-node 0.5.9's API to celeriac's in a table.
 * Every celery-node method and setting named in its first column exists in the installed
 * celery-node's type declarations, and every celeriac method (`app.x(`, `task.x(`, `result.x(`,
 * `worker.x(`) and setting named in its second column exists on celeriac's classes and settings,
 * so the mapping cannot name what is not there.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { AsyncResult, Celery, RemoteTask, Task, Worker } from "../../src";
import { settingKeyOf } from "../../src/settings-names";

const PAGE = readFileSync(resolve(__dirname, "../../docs/guides/migrating-from-celery-node.md"), "utf8");

function declarations(dir: string): string {
  return readdirSync(dir, { withFileTypes: true })
    .map((e) => (e.isDirectory() ? declarations(join(dir, e.name)) : e.name.endsWith(".d.ts") ? readFileSync(join(dir, e.name), "utf8") : ""))
    .join("\n");
}
const CELERY_NODE = declarations(dirname(require.resolve("celery-node")));

/** The rows of the mapping table: the code spans of its first two columns. */
function mappingRows(page: string): { celeryNode: string[]; celeriac: string[] }[] {
  const lines = page.split("\n");
  const start = lines.findIndex((l) => l.startsWith("| celery-node 0.5.9 |"));
  const rows: { celeryNode: string[]; celeriac: string[] }[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    const [, first, second] = line.split("|");
    const spans = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    rows.push({ celeryNode: spans(first), celeriac: spans(second) });
  }
  return rows;
}

const PROTOTYPES: Record<string, object[]> = {
  app: [Celery.prototype],
  task: [Task.prototype, RemoteTask.prototype],
  result: [AsyncResult.prototype],
  worker: [Worker.prototype],
};

/** Names the celeriac column uses, with whether each exists. */
function celeriacNames(span: string): [string, boolean][] {
  const found: [string, boolean][] = [];
  for (const m of span.matchAll(/\b(app|task|result|worker)\.(\w+)[(<]/g)) found.push([`${m[1]}.${m[2]}`, PROTOTYPES[m[1]].some((p) => m[2] in p)]);
  // Settings: a bare camelCase name, `name: value`, or the keys of `{ ... }` in `new Celery(...)`.
  const settings = /^[a-z]\w*$/.test(span) ? [span] : /^([a-z]\w*): /.exec(span)?.slice(1) ?? [];
  for (const braces of span.matchAll(/\{ ([^}]*) \}/g)) if (span.startsWith("new Celery")) settings.push(...braces[1].split(/,\s*/));
  for (const name of settings) found.push([name, settingKeyOf(name) !== undefined]);
  return found;
}

const rows = mappingRows(PAGE);
const celeryNodeNames = rows.flatMap((r) => r.celeryNode.flatMap((s) => [...s.matchAll(/(\w+)\(|\b([A-Z][A-Z_]+)\b/g)].map((m) => m[1] ?? m[2])));
const celeriacChecks = rows.flatMap((r) => r.celeriac.flatMap(celeriacNames));

test("the table is found and its names are read", () => {
  expect(rows.length).toBeGreaterThan(15);
  expect(celeryNodeNames).toEqual(expect.arrayContaining(["createClient", "register", "applyAsync", "TASK_PROTOCOL"]));
  expect(celeriacChecks.map(([n]) => n)).toEqual(expect.arrayContaining(["app.task", "result.get", "taskDefaultQueue", "brokerUseSsl"]));
  expect(celeriacNames("app.noSuchMethod(x)")).toEqual([["app.noSuchMethod", false]]);
  expect(celeriacNames("noSuchSetting")).toEqual([["noSuchSetting", false]]);
});

test.each(celeryNodeNames.map((n) => [n]))("celery-node 0.5.9 declares %s", (name) => {
  expect(CELERY_NODE).toMatch(new RegExp(`\\b${name}\\b[(:]`));
});

test.each(celeriacChecks)("celeriac has %s", (_name, exists) => {
  expect(exists).toBe(true);
});
