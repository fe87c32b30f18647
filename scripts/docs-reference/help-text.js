/**
 * Reads yargs' `--help` text (80 columns, wrapped) back into its parts: the usage line, the
 * description, and per section ("Commands:", "Positionals:", "Options:") its entries with their
 * names, description and the [type] [required] [default: ...] [choices: ...] tags.
 */
"use strict";

const TAG = /\[(string|boolean|number|array|count)\]|\[required\]|\[default: ((?:[^\][]|\[[^\]]*\])*)\]|\[choices: ((?:[^\][]|\[[^\]]*\])*)\]/g;

/** One entry: `names` as printed (`-A, --app`), its description, type, required, default and choices. */
function entryOf(head, text) {
  const entry = { names: head.trim(), description: "", type: null, required: false, default: null, choices: null };
  const firstTag = text.search(/\[(string|boolean|number|array|count|required|default: |choices: )/);
  entry.description = (firstTag < 0 ? text : text.slice(0, firstTag)).trim();
  for (const m of (firstTag < 0 ? "" : text.slice(firstTag)).matchAll(TAG)) {
    if (m[1]) entry.type = m[1];
    else if (m[0] === "[required]") entry.required = true;
    else if (m[2] !== undefined) entry.default = m[2];
    else if (m[3] !== undefined) entry.choices = m[3];
  }
  return entry;
}

/** Parses one command's `--help` output. */
function parseHelp(text) {
  const lines = text.replace(/\r/g, "").split("\n");
  const usage = lines[0].trim();
  const sections = {};
  const description = [];
  let section = null;
  let current = null;
  const flush = () => {
    if (current) sections[section].push(entryOf(current.head, current.text.join(" ")));
    current = null;
  };
  for (const line of lines.slice(1)) {
    const header = /^([A-Z][A-Za-z ]*):$/.exec(line);
    if (header) {
      flush();
      section = header[1];
      sections[section] = [];
      continue;
    }
    if (!section) {
      if (line.trim()) description.push(line.trim());
      continue;
    }
    if (!line.trim()) continue;
    // An entry starts at column 2 (`-A, --app`, a positional, a command) or 6 (`--help`);
    // anything else continues the one before (its wrapped description or tags).
    const start = /^( {2}(?:-\w|[a-z$][\w$-]*\b)| {6}--)/.exec(line);
    if (start) {
      flush();
      const rest = line.replace(/^\s+/, "");
      const split = /^(.*?\S)(?: {2,}(.*))?$/.exec(rest);
      current = { head: split[1], text: [split[2] ?? ""] };
    } else if (current) current.text.push(line.trim());
  }
  flush();
  return { usage, description: description.join(" "), sections };
}

module.exports = { parseHelp };
