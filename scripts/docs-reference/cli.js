/**
 * docs/reference/cli.md: every `celeriac` command, its arguments and options, read from the
 * built CLI's own `--help` (dist/cli/main.js), each option with whether Celery's command has it
 * (celery-facts.js).
 */
"use strict";
const { execFileSync } = require("node:child_process");
const path = require("node:path");
const { parseHelp } = require("./help-text");
const { pageHead, table, code } = require("./markdown");
const { CELERY_CLI } = require("./celery-facts");

const ROOT = path.resolve(__dirname, "../..");
const GLOBAL = new Set(["--help", "--version", "-b, --broker", "--result-backend"]);
/** A positional of celeriac named otherwise in Celery's command. */
const CELERY_POSITIONAL = { call: { task: "name" }, result: { id: "task_id" }, inspect: { method: "command" }, control: { method: "command" } };

/** `celeriac <words> --help`, parsed. */
function help(words) {
  const text = execFileSync(process.execPath, [path.join(ROOT, "dist/cli/main.js"), ...words, "--help"], { encoding: "utf8", env: { ...process.env, LANG: "C", LC_ALL: "C" } });
  return parseHelp(text);
}

/** Whether Celery's command (or `celery` itself) has an option or argument, and where. */
function celeryHas(words, entry, positional) {
  const command = words.length === 1 ? CELERY_CLI.commands[words[0]] : undefined;
  if (!command) return "no (celeriac only)";
  if (positional) {
    const named = CELERY_POSITIONAL[words[0]]?.[entry.names] ?? entry.names;
    if (command.includes(named)) return named === entry.names ? "yes" : `yes, as ${code(named)}`;
    if (entry.names === "args" && (words[0] === "inspect" || words[0] === "control")) return "yes (the arguments after the method)";
    return "no (celeriac only)";
  }
  const names = entry.names.split(", ");
  const here = names.filter((n) => command.includes(n));
  const global = names.filter((n) => !command.includes(n) && CELERY_CLI.global.includes(n));
  if (here.length === names.length) return "yes";
  if (global.length && here.length + global.length === names.length) return `yes, as an option of \`celery\` itself (${code(`celery ${global[global.length - 1]} … ${words[0]}`)})`;
  if (here.length) return `as ${here.map(code).join(", ")}`;
  return "no (celeriac only)";
}

/** The default and allowed values of an entry. */
function valuesOf(entry) {
  const parts = [];
  if (entry.required) parts.push("required");
  if (entry.default !== null) parts.push(`default ${code(entry.default)}`);
  if (entry.choices !== null) parts.push(`one of ${entry.choices.split(", ").map((c) => code(c.replace(/^"|"$/g, ""))).join(", ")}`);
  return parts.join("; ");
}

/** The section of one command (and of its subcommands). */
function commandSection(words, summary) {
  const h = help(words);
  const title = `celeriac ${words.join(" ")}`;
  let out = `\n## ${title}\n\n${h.description || summary}\n\n\`\`\`sh\n${h.usage}\n\`\`\`\n`;
  const positionals = h.sections.Positionals ?? [];
  const options = (h.sections.Options ?? []).filter((e) => !GLOBAL.has(e.names));
  const rows = [
    ...positionals.map((e) => [code(`<${e.names}>`), e.type ?? "", valuesOf(e), celeryHas(words, e, true), e.description]),
    ...options.map((e) => [code(e.names), e.type ?? "", valuesOf(e), celeryHas(words, e, false), e.description]),
  ];
  if (rows.length) out += "\n" + table(["Argument or option", "Type", "Values", "Celery has it", "Meaning"], rows);
  const command = words.length === 1 ? CELERY_CLI.commands[words[0]] : undefined;
  if (command) {
    const ours = new Set([...positionals, ...options].flatMap((e) => e.names.split(", ")));
    const missing = command.filter((n) => n.startsWith("--") && !ours.has(n));
    out += missing.length ? `\nCelery's options that \`${title}\` does not take: ${missing.map(code).join(", ")}.\n` : `\nIt takes every option of \`celery ${words[0]}\`.\n`;
  } else if (words.length > 1 || !CELERY_CLI.commands[words[0]]) out += `\n\`celery\` has no such command.\n`;
  for (const sub of h.sections.Commands ?? []) {
    const subWords = sub.names.replace(/^celeriac\s+/, "").split(/\s+/).filter((w) => !/^[<[]/.test(w));
    out += commandSection(subWords, sub.description);
  }
  return out;
}

/** The page's text. */
function cliPage() {
  const top = help([]);
  const globals = (top.sections.Options ?? []).map((e) => [code(e.names), e.type ?? "", celeryGlobal(e), e.description]);
  let out =
    pageHead("CLI", "the `--help` of every command of the built CLI (dist/cli/main.js)") +
    `
\`celeriac\` (\`npx celeriac\`, the package's bin) mirrors the \`celery\` command: the same command
names, and Celery's option names where celeriac has the option, so scripts written for \`celery\`
carry over. It differs where this page says so, and in \`-A/--app\`: it names a file, by its path
from the working directory (\`.js\`, \`.cjs\`, \`.mjs\`, or \`.ts\` when \`tsx\` is installed), that
exports the app as \`app\` or as its default export, where Celery takes a Python module name. As in
Celery, it may come before the command (\`celeriac -A tasks.js worker\`). The settings an option
stands for are in the [configuration reference](./configuration.md).

\`\`\`sh
${top.usage}
\`\`\`

## Global options

Taken by every command.

` +
    table(["Option", "Type", "Celery has it", "Meaning"], globals) +
    `\n## Commands\n\n` +
    table(
      ["Command", "What it does"],
      (top.sections.Commands ?? []).map((c) => [code(c.names), c.description]),
    );
  for (const c of top.sections.Commands ?? []) out += commandSection([c.names.split(/\s+/)[1]], c.description);
  return out;
}

/** Whether `celery` has a global option. */
function celeryGlobal(entry) {
  return entry.names.split(", ").every((n) => n === "--help" || CELERY_CLI.global.includes(n)) ? "yes" : "no (celeriac only)";
}

module.exports = { cliPage };
