/**
 * `npm run docs:check` (scripts/check-doc-code.js) type-checks the docs' ```ts blocks against the
 * repository's entries: a block calling a task with a wrong argument fails with its page and line,
 * blocks that compile (importing `celeriac` and `celeriac/client`) pass, `ts nocheck` and other
 * languages are skipped.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(__dirname, "../..");
const fixtures = path.join(root, "test/fixtures/doc-code");
const out = path.join(root, ".tmp", `doc-code-test-${process.pid}`);

function check(...pages: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["scripts/check-doc-code.js", "--out", out, ...pages.map((p) => path.join(fixtures, p))], { cwd: root, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

test("a block with a wrong call fails, naming its page and line", () => {
  const r = check("bad.md");
  expect(r.status).toBe(1);
  // line 8 of bad.md is `void add.delay(1, "two");`, its column 19 the "two"
  expect(r.stderr).toMatch(/^test\/fixtures\/doc-code\/bad\.md:8:19: TS2345: Argument of type 'string' is not assignable to parameter of type 'number'/m);
  expect(r.stdout).toContain("1 ts block(s), 1 error(s)");
}, 60_000);

test("blocks that compile pass; ts nocheck and js blocks are not checked", () => {
  const r = check("good.md");
  expect(r.stderr).toBe("");
  expect(r.stdout).toContain("2 ts block(s), 0 error(s)");
  expect(r.status).toBe(0);
  // each block is kept as a file with the tsconfig that maps celeriac to src/
  expect(fs.readdirSync(out).sort()).toEqual(["test_fixtures_doc_code_good_md_L12.ts", "test_fixtures_doc_code_good_md_L4.ts", "tsconfig.json"]);
}, 60_000);
