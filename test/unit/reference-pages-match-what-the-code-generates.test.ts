/**
 * docs/reference/configuration.md and docs/reference/cli.md are what `npm run docs:reference`
 * writes from the code (the settings tables of src/config.ts and src/settings-names.ts, the built
 * CLI's --help): a setting, option or doc comment changed without the pages fails here. Needs the
 * build (`npm run build`), as the pages are made from dist/.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(__dirname, "../..");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { referencePages } = require("../../scripts/docs-reference.js") as { referencePages: () => { file: string; text: string }[] };

const pages = referencePages();

test.each(pages.map((p) => [p.file, p.text]))("%s is up to date (npm run docs:reference)", (file, text) => {
  expect(fs.readFileSync(path.join(root, file), "utf8")).toBe(text);
});

test("the configuration page lists every setting once, with its Celery name", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DEFAULTS } = require("../../src/config") as typeof import("../../src/config");
  const text = pages.find((p) => p.file.endsWith("configuration.md"))!.text;
  for (const key of Object.keys(DEFAULTS)) expect(text.split("\n").filter((l) => l.startsWith(`| \`${key}\`<br>`))).toHaveLength(1);
  expect(text).toContain("| `workerConcurrency`<br>`worker_concurrency`<br>old: `CELERYD_CONCURRENCY` |");
});

test("the CLI page has a section for every command the CLI lists", () => {
  const text = pages.find((p) => p.file.endsWith("cli.md"))!.text;
  for (const command of ["worker", "beat", "beat add", "beat remove", "beat list", "inspect", "control", "status", "events", "call", "result", "purge"]) {
    expect(text).toContain(`\n## celeriac ${command}\n`);
  }
  expect(text).toContain("| `-P, --pool` | string |");
});
