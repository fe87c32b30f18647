/**
 * The job guides are what runs: every ```ts block of docs/guides/{node-calls-python,
 * mixed-canvas-and-fleets,django-to-node}.md is text of its example's files (so is every ```python
 * and ```json block of the first two, and every ```js block of the Django guide), and the first
 * two examples run exactly as their pages tell a reader: the commands of their ```sh blocks, in
 * order, in the example's directory (workers in the background until "ready."), with the newest
 * Python Celery (interop-tests/.venv first on PATH) and the private test Redis given through
 * CELERY_BROKER_URL / CELERY_RESULT_BACKEND; each command prints the output the page shows
 * under it. `npx celeriac` is this repository's dist/cli/main.js: build first.
 */
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { asDocumented, documentedCommands, fencedBlocks, runDocumented, startDocumented, type Background } from "../test/support/documented-commands";
import { PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";

jest.setTimeout(300_000);

const ROOT = resolve(__dirname, "..");
const VENV_BIN = resolve(PYTHONS.find((p) => p.label === "celery-latest")!.exe, "..");
// The pages' own queue names (celery, python, node): a database no other file uses.
const REDIS_DB = 14;

const guide = (name: string): string => readFileSync(join(ROOT, "docs", "guides", `${name}.md`), "utf8");

/** The text of an example's own files (not what `npx tsc` wrote, not Python's caches). */
function exampleFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return ["dist", "__pycache__"].includes(name) ? [] : exampleFiles(path);
    return [readFileSync(path, "utf8")];
  });
}

/** The page's blocks in `langs` that no file of the example contains verbatim. */
function blocksNotInExample(page: string, example: string, langs: string[]): string[] {
  const files = exampleFiles(join(ROOT, "examples", example));
  return fencedBlocks(guide(page))
    .filter((b) => langs.includes(b.lang))
    .filter((b) => !files.some((text) => text.includes(b.code)))
    .map((b) => `${b.lang}: ${b.code.slice(0, 200)}`);
}

describe.each([
  ["node-calls-python", "node-calls-python", ["ts", "python", "json"]],
  ["mixed-canvas-and-fleets", "mixed-canvas", ["ts", "python", "json"]],
  ["django-to-node", "django", ["js", "ts"]],
])("docs/guides/%s.md", (page, example, langs) => {
  test(`its ${langs.join(", ")} blocks are text of examples/${example}`, () => {
    // The page shows its example's code in its main language (TypeScript; the Django example's Node side is JS).
    expect(fencedBlocks(guide(page)).filter((b) => b.lang === langs[0]).length).toBeGreaterThan(0);
    expect(blocksNotInExample(page, example, langs)).toEqual([]);
  });
});

describe.each([
  ["node-calls-python", "node-calls-python"],
  ["mixed-canvas-and-fleets", "mixed-canvas"],
])("docs/guides/%s.md run as documented", (page, example) => {
  const cwd = join(ROOT, "examples", example);
  const url = testRedisUrl(REDIS_DB);
  const env = { ...process.env, PATH: `${VENV_BIN}:${process.env.PATH ?? ""}`, CELERY_BROKER_URL: url, CELERY_RESULT_BACKEND: url, PYTHONDONTWRITEBYTECODE: "1" };
  const workers: Background[] = [];

  beforeAll(() => {
    rmSync(join(cwd, "dist"), { recursive: true, force: true }); // `npx tsc` of the page writes it again
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
  });

  test("every command runs and prints what the page shows", async () => {
    const commands = documentedCommands(guide(page));
    expect(commands.filter((c) => c.output.length > 0).length).toBeGreaterThan(0);
    for (const { command, output } of commands) {
      if (/ worker( |$)/.test(command)) {
        workers.push(await startDocumented(command, cwd, env));
        continue;
      }
      const printed = asDocumented(await runDocumented(command, cwd, env));
      if (output.length === 0) continue;
      // Remote-control replies come in the order the workers answer; a program's lines in its own order.
      if (/ (status|inspect)( |$)/.test(command)) expect([...printed].sort()).toEqual([...output].sort());
      else expect(printed).toEqual(output);
    }
    // Each worker ran the tasks of its own language.
    for (const worker of workers) {
      const ran = [...worker.output().matchAll(/Task (\S+)\[[^\]]+\] succeeded/g)].map((m) => m[1]);
      expect(ran.length).toBeGreaterThan(0);
      const prefix = worker.command.startsWith("npx celeriac") ? /^node\./ : /^(py|reports)\./;
      expect(ran.filter((name) => !prefix.test(name))).toEqual([]);
    }
  });
});
