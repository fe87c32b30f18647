#!/usr/bin/env node
/**
 * `npm run docs:check`: type-checks every ```ts block of the docs (docs/**\/*.md, README.md) as a
 * standalone ES module, where `celeriac` is src/index.ts and `celeriac/client` src/client.ts.
 * Each block is written to .tmp/doc-code/ (one .ts file per block, named after its page and line,
 * with the tsconfig.json used, so `npx tsc -p .tmp/doc-code` reproduces the check); errors are
 * printed as `page.md:line:column: message` and the exit status is 1 when there is any.
 * A block tagged ```ts nocheck is skipped.
 *
 *   node scripts/check-doc-code.js [--out DIR] [file.md ...]   (default: the docs and README)
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const ts = require("typescript");

const ROOT = path.resolve(__dirname, "..");

/** The Markdown files checked by default: README.md and docs/**\/*.md (not the built site). */
function defaultFiles() {
  const out = [path.join(ROOT, "README.md")];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (p !== path.join(ROOT, "docs", "site")) walk(p);
      } else if (e.name.endsWith(".md")) out.push(p);
    }
  };
  walk(path.join(ROOT, "docs"));
  return out.sort();
}

/** The ```ts blocks of a Markdown text: `{ line, code }`, `line` the 1-based line of the block's first code line. */
function tsBlocks(text) {
  const blocks = [];
  const lines = text.split(/\r?\n/);
  let open = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (open) {
      if (line.trimStart().startsWith(open.fence) && line.trim() === line.trim().replace(/[^`~]/g, "")) {
        if (open.checked) blocks.push({ line: open.start + 1, code: lines.slice(open.start, i).join("\n") });
        open = null;
      }
      continue;
    }
    const m = /^\s*(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$/.exec(line);
    if (!m) continue;
    const lang = m[2].toLowerCase();
    const checked = (lang === "ts" || lang === "typescript") && !/\bnocheck\b/.test(m[3]);
    open = { fence: m[1], start: i + 1, checked };
  }
  return blocks;
}

/** The compiler options of the check (also written as the folder's tsconfig.json). */
function tsconfigFor(outDir) {
  const rel = (p) => path.relative(outDir, path.join(ROOT, p)).split(path.sep).join("/");
  return {
    compilerOptions: {
      target: "ES2022",
      module: "ES2022",
      moduleResolution: "bundler",
      lib: ["ES2022"],
      strict: true,
      esModuleInterop: true,
      skipLibCheck: true,
      resolveJsonModule: true,
      noEmit: true,
      types: ["node"],
      typeRoots: [rel("node_modules/@types")],
      baseUrl: ".",
      paths: { celeriac: [rel("src/index.ts")], "celeriac/client": [rel("src/client.ts")] },
    },
    include: ["*.ts"],
  };
}

/**
 * Writes the blocks of `files` to `outDir` and type-checks them. Returns the errors as
 * `{ file, line, column, message }` with the Markdown file and its line.
 */
function checkDocCode(files, outDir) {
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const origin = new Map();
  let blockCount = 0;
  for (const file of files) {
    const rel = path.relative(ROOT, file).split(path.sep).join("/");
    for (const block of tsBlocks(fs.readFileSync(file, "utf8"))) {
      const name = `${rel.replace(/[^A-Za-z0-9]+/g, "_")}_L${block.line}.ts`;
      // `export {}` last, so that the block is a module and its lines keep their numbers.
      fs.writeFileSync(path.join(outDir, name), `${block.code}\nexport {};\n`);
      origin.set(path.join(outDir, name), { file: rel, line: block.line });
      blockCount++;
    }
  }
  const config = tsconfigFor(outDir);
  fs.writeFileSync(path.join(outDir, "tsconfig.json"), JSON.stringify(config, null, 2) + "\n");
  if (!blockCount) return { blocks: 0, errors: [] };
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, outDir);
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  const errors = [];
  const general = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  for (const d of general) errors.push({ file: "tsconfig", line: 0, column: 0, message: ts.flattenDiagnosticMessageText(d.messageText, "\n") });
  for (const sf of program.getSourceFiles()) {
    const from = origin.get(path.resolve(sf.fileName));
    if (!from) continue;
    for (const d of [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]) {
      const at = d.start === undefined ? { line: 0, character: 0 } : sf.getLineAndCharacterOfPosition(d.start);
      errors.push({ file: from.file, line: from.line + at.line, column: at.character + 1, message: `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}` });
    }
  }
  return { blocks: blockCount, errors };
}

function main(argv) {
  let outDir = path.join(ROOT, ".tmp", "doc-code");
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out") outDir = path.resolve(argv[++i]);
    else files.push(path.resolve(argv[i]));
  }
  const { blocks, errors } = checkDocCode(files.length ? files : defaultFiles(), outDir);
  for (const e of errors) process.stderr.write(`${e.file}:${e.line}:${e.column}: ${e.message}\n`);
  process.stdout.write(`docs:check: ${blocks} ts block(s), ${errors.length} error(s)\n`);
  return errors.length ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

module.exports = { tsBlocks, checkDocCode };
