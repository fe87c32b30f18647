/**
 * The parameter names a handler declares, read from its source (`Function.prototype.toString`),
 * so that Python's keyword arguments reach a handler registered without `params`.
 *
 * Reads plain functions, arrow functions, methods, async and generator forms, default values
 * (with nested brackets, strings, template literals and comments) and TypeScript's compiled
 * output of each (`__awaiter` wrappers keep the outer parameter list). Returns why when it cannot.
 */

/** One declared parameter: its name, or how it is declared when it has none. */
export type DeclaredParam =
  | { kind: "name"; name: string }
  | { kind: "rest"; name: string }
  | { kind: "pattern"; text: string };

/** What `readDeclaredParams` found: the parameter list, or why it could not be read. */
export type DeclaredParams = { ok: true; params: DeclaredParam[] } | { ok: false; reason: string };

const cache = new WeakMap<object, DeclaredParams>();

/** The declared parameters of `fn` (cached per function). */
export function readDeclaredParams(fn: (...args: never[]) => unknown): DeclaredParams {
  let read = cache.get(fn);
  if (!read) {
    read = readFromSource(Function.prototype.toString.call(fn));
    cache.set(fn, read);
  }
  return read;
}

const IDENT = /^[A-Za-z_$\u00a0-\uffff][\w$\u00a0-\uffff]*/;

/** The parameter list text of a function's source, or why there is none to read. */
function parameterText(source: string): { text: string; end: number } | { reason: string } {
  let s = skipSpace(source, 0);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) return { reason: "it is a bound or native function" };
  if (source.startsWith("class", s) && !IDENT.test(source.slice(s + 5, s + 6))) return { reason: "it is a class" };
  if (startsWithWord(source, s, "async")) {
    const after = skipSpace(source, s + 5);
    // `async => ...` and `async(...)` as a method name are plain parameters named async; rare, read as such
    if (!source.startsWith("=>", after)) s = after;
  }
  if (startsWithWord(source, s, "function")) {
    s = skipSpace(source, s + 8);
    if (source[s] === "*") s = skipSpace(source, s + 1);
    const name = IDENT.exec(source.slice(s));
    if (name) s = skipSpace(source, s + name[0].length);
  } else if (source[s] === "*") {
    s = skipSpace(source, s + 1); // generator method
  }
  if (source[s] !== "(") {
    const name = IDENT.exec(source.slice(s));
    if (!name) return { reason: "its source has no parameter list" };
    const after = skipSpace(source, s + name[0].length);
    if (source.startsWith("=>", after)) return { text: name[0], end: after }; // x => ...
    s = after; // a method: name(...)
    if (source[s] !== "(") return { reason: "its source has no parameter list" };
  }
  const end = matchingParen(source, s);
  if (end < 0) return { reason: "its parameter list could not be parsed" };
  return { text: source.slice(s + 1, end), end: end + 1 };
}

function startsWithWord(source: string, at: number, word: string): boolean {
  return source.startsWith(word, at) && !/[\w$]/.test(source[at + word.length] ?? "");
}

/** Index after whitespace and comments from `i`. */
function skipSpace(source: string, i: number): number {
  for (;;) {
    while (i < source.length && /\s/.test(source[i])) i++;
    if (source.startsWith("//", i)) {
      const nl = source.indexOf("\n", i);
      i = nl < 0 ? source.length : nl + 1;
    } else if (source.startsWith("/*", i)) {
      const close = source.indexOf("*/", i + 2);
      i = close < 0 ? source.length : close + 2;
    } else {
      return i;
    }
  }
}

/** Index of the bracket closing the one at `open`, skipping strings, templates and comments; -1 if none. */
function matchingParen(source: string, open: number): number {
  const stack: string[] = [];
  const closing: Record<string, string> = { "(": ")", "[": "]", "{": "}" };
  for (let i = open; i < source.length; i++) {
    const c = source[i];
    if (c === "/" && (source[i + 1] === "/" || source[i + 1] === "*")) {
      i = skipSpace(source, i) - 1;
    } else if (c === '"' || c === "'") {
      i = skipString(source, i);
      if (i < 0) return -1;
    } else if (c === "`") {
      i = skipTemplate(source, i);
      if (i < 0) return -1;
    } else if (c in closing) {
      stack.push(closing[c]);
    } else if (c === ")" || c === "]" || c === "}") {
      if (stack.pop() !== c) return -1;
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

function skipString(source: string, open: number): number {
  const quote = source[open];
  for (let i = open + 1; i < source.length; i++) {
    if (source[i] === "\\") i++;
    else if (source[i] === quote) return i;
  }
  return -1;
}

function skipTemplate(source: string, open: number): number {
  for (let i = open + 1; i < source.length; i++) {
    if (source[i] === "\\") i++;
    else if (source[i] === "`") return i;
    else if (source.startsWith("${", i)) {
      const end = matchingParen(source, i + 1);
      if (end < 0) return -1;
      i = end;
    }
  }
  return -1;
}

/** Splits a parameter list at its top-level commas. */
function splitTopLevel(text: string): string[] | null {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "/" && (text[i + 1] === "/" || text[i + 1] === "*")) i = skipSpace(text, i) - 1;
    else if (c === '"' || c === "'") i = skipString(text, i);
    else if (c === "`") i = skipTemplate(text, i);
    else if (c === "(" || c === "[" || c === "{") i = matchingParen(text, i);
    else if (c === ",") {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
    if (i < 0) return null;
  }
  parts.push(text.slice(start));
  return parts;
}

/**
 * TypeScript below ES2017 compiles an async function whose parameters have defaults or a rest
 * into a wrapper that passes its (renamed) arguments on: `(path_1, ...args_1) => __awaiter(void 0,
 * [path_1, ...args_1], void 0, function* (path, width = 100) {...})`. The declared parameters are
 * then those of the generator, when the wrapper's body is that call.
 */
function awaiterInner(source: string, bodyFrom: number): string | null {
  const at = source.indexOf("__awaiter(", bodyFrom);
  if (at < 0 || /function|=>/.test(source.slice(bodyFrom, at).replace(/^\s*=>/, ""))) return null;
  const close = matchingParen(source, at + 9);
  const args = close < 0 ? null : splitTopLevel(source.slice(at + 10, close));
  if (!args || args.length !== 4 || args[1].trim() === "void 0") return null;
  return args[3];
}

function readFromSource(source: string): DeclaredParams {
  let found = parameterText(source);
  if ("reason" in found) return { ok: false, reason: found.reason };
  const inner = awaiterInner(source, found.end);
  if (inner !== null) {
    const innerFound = parameterText(inner);
    if ("reason" in innerFound) return { ok: false, reason: innerFound.reason };
    found = innerFound;
  }
  const parts = splitTopLevel(found.text);
  if (!parts) return { ok: false, reason: "its parameter list could not be parsed" };
  const params: DeclaredParam[] = [];
  for (const part of parts) {
    const at = skipSpace(part, 0);
    if (at === part.length) continue; // a trailing comma, or no parameters at all
    const rest = part.startsWith("...", at);
    const from = rest ? skipSpace(part, at + 3) : at;
    if (part[from] === "{" || part[from] === "[") {
      // a rest parameter takes what is left however it is destructured
      params.push(rest ? { kind: "rest", name: part.slice(from).trim() } : { kind: "pattern", text: part.trim() });
      continue;
    }
    const name = IDENT.exec(part.slice(from));
    if (!name) return { ok: false, reason: `parameter ${params.length + 1} could not be read` };
    params.push(rest ? { kind: "rest", name: name[0] } : { kind: "name", name: name[0] });
  }
  return { ok: true, params };
}
