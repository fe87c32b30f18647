#!/usr/bin/env node
/**
 * `npm run docs:reference`: writes the generated reference pages, docs/reference/configuration.md
 * (from src/config.ts and src/settings-names.ts) and docs/reference/cli.md (from the CLI's
 * `--help`), from the built dist/ (the npm script builds first). With `--check`, writes nothing
 * and exits 1 when a checked-in page differs from what would be written.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { configurationPage } = require("./docs-reference/configuration");
const { cliPage } = require("./docs-reference/cli");

const ROOT = path.resolve(__dirname, "..");

/** Each generated page: its path in the repository and its text. */
function referencePages() {
  return [
    { file: "docs/reference/configuration.md", text: configurationPage() },
    { file: "docs/reference/cli.md", text: cliPage() },
  ];
}

function main(argv) {
  const check = argv.includes("--check");
  let stale = 0;
  for (const { file, text } of referencePages()) {
    const full = path.join(ROOT, file);
    const now = fs.existsSync(full) ? fs.readFileSync(full, "utf8") : null;
    if (now === text) continue;
    if (check) {
      process.stderr.write(`${file} is out of date: run npm run docs:reference\n`);
      stale++;
    } else {
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, text);
      process.stdout.write(`wrote ${file}\n`);
    }
  }
  return stale ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

module.exports = { referencePages };
