/** Python's fnmatch patterns as RegExps (pure). */

/**
 * Python's `fnmatch.translate`: `*` any run, `?` one character, `[seq]` / `[!seq]` a class (a `[`
 * without its `]` is literal), matching the whole string. Celery compiles task_routes globs with
 * it, and kombu's pidbox matches `destination` patterns with fnmatch.
 */
export function fnmatchToRegExp(glob: string): RegExp {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") out += ".*";
    else if (c === "?") out += ".";
    else if (c === "[") {
      let j = i + 1;
      if (glob[j] === "!") j++;
      if (glob[j] === "]") j++;
      while (j < glob.length && glob[j] !== "]") j++;
      if (j >= glob.length) {
        out += "\\[";
        continue;
      }
      // a ] right after [ or [! is a member (Python); JavaScript needs it escaped
      let body = glob.slice(i + 1, j).replace(/\\/g, "\\\\").replace(/]/g, "\\]");
      if (body.startsWith("!")) body = "^" + body.slice(1);
      else if (body.startsWith("^")) body = "\\" + body;
      out += `[${body}]`;
      i = j;
    } else out += c.replace(/[.+^${}()|[\]\\/-]/g, "\\$&");
  }
  return new RegExp(`^(?:${out})$`, "s");
}
