/**
 * docs/guides/troubleshooting.md quotes log and error lines in the first column of its "Log line"
 * tables, with `…` where a value goes. Each quoted line must occur in one file of src/, where
 * every `…` stands for one or more `${...}` interpolations (or a `%s`), so that the page cannot
 * quote a line the code does not write.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "../..");
const PAGE = readFileSync(join(ROOT, "docs/guides/troubleshooting.md"), "utf8");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [readFileSync(join(dir, e.name), "utf8")] : [],
  );
}
const SOURCES = sourceFiles(join(ROOT, "src"));

/** The code spans (`x` or `` x ``) of a Markdown table cell. */
function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/(`+)\s?(.+?)\s?\1(?!`)/g)].map((m) => m[2]);
}

/** The code spans of the first column of every table whose header starts with "Log line". */
function quotedLines(page: string): string[] {
  const quoted: string[] = [];
  let inLogTable = false;
  for (const line of page.split("\n")) {
    if (!line.startsWith("|")) {
      inLogTable = false;
      continue;
    }
    const firstCell = line.split(/(?<!\\)\|/)[1] ?? "";
    if (/^\s*Log line\b/.test(firstCell)) inLogTable = true;
    else if (inLogTable && !/^\s*-+\s*$/.test(firstCell)) quoted.push(...codeSpans(line.slice(0, line.indexOf(firstCell) + firstCell.length)));
  }
  return quoted;
}

/** A source pattern for a quoted line: `…` is one or more interpolations; quotes and backticks may be escaped. */
function sourcePattern(quoted: string): RegExp {
  const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/['"`]/g, "\\\\?$&");
  return new RegExp(quoted.split("…").map(literal).join("(?:\\$\\{.*?\\}|%[sdr])+"));
}

const lines = quotedLines(PAGE);

test("the page quotes the log lines of its tables (the parse finds them)", () => {
  expect(lines.length).toBeGreaterThan(25);
  expect(lines).toContain("Hard time limit (…s) exceeded for …");
});

test("a line the code does not write is not found (the check can fail)", () => {
  const found = (q: string) => SOURCES.some((s) => sourcePattern(q).test(s));
  expect(found("Hard time limit (…s) exceeded for …")).toBe(true);
  expect(found("Hard time limit (…s) was exceeded for …")).toBe(false);
  expect(found("Hard time limit (5s) exceeded for …")).toBe(false);
});

test.each(lines.map((l) => [l]))("`%s` occurs in src/", (quoted) => {
  expect(SOURCES.some((source) => sourcePattern(quoted).test(source))).toBe(true);
});
