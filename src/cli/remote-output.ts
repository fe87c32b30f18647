/**
 * How `celery inspect` / `celery control` print replies (celery/bin/control.py and
 * `CLIContext.pretty` in celery/bin/base.py), for `celeriac inspect|control|status`:
 *
 *   ->  node@host: OK
 *       * item            (a list; "- empty -" when empty)
 *           pong          (an {ok: ...} / {error: ...} reply, indented twice; ERROR for error)
 *       {                 (any other object: json.dumps(sort_keys=True, indent=4))
 *
 * then, for inspect, "\n<n> node(s) online.". With -j, one JSON line as kombu's `dumps`.
 */
import { pyRepr } from "../protocol/repr";
import { pyJsonDumps } from "../protocol/serializers/json";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value) && !(value instanceof Date);
}

/** Python `json.dumps(value, sort_keys=True, indent=n)`. */
export function pyJsonIndent(value: unknown, indent = 4, level = 0): string {
  const pad = " ".repeat(indent * (level + 1));
  const end = " ".repeat(indent * level);
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return `[\n${value.map((v) => pad + pyJsonIndent(v, indent, level + 1)).join(",\n")}\n${end}]`;
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    if (!keys.length) return "{}";
    return `{\n${keys.map((k) => `${pad}${pyJsonDumps(k)}: ${pyJsonIndent(value[k], indent, level + 1)}`).join(",\n")}\n${end}}`;
  }
  return pyJsonDumps(value);
}

/** Celery's `text.indent`: every line prefixed by `n` spaces. */
export function indentText(text: string, n: number): string {
  const pad = " ".repeat(n);
  return text
    .split("\n")
    .map((line) => pad + line)
    .join("\n");
}

/** Python `str(value)` of a decoded JSON value: strings as they are, the rest as `repr`. */
export function pyStr(value: unknown): string {
  return typeof value === "string" ? value : pyRepr(value);
}

/** Celery's `CLIContext.pretty(reply)`: the status word and the text to print. */
export function prettyReply(reply: unknown): { status: "OK" | "ERROR"; text: string } {
  if (Array.isArray(reply)) return { status: "OK", text: reply.length ? reply.map((item) => `* ${pyStr(item)}`).join("\n") : "- empty -" };
  if (isPlainObject(reply)) {
    if ("ok" in reply) return { status: "OK", text: indentText(prettyReply(reply.ok).text, 4) };
    if ("error" in reply) return { status: "ERROR", text: indentText(prettyReply(reply.error).text, 4) };
    return { status: "OK", text: pyJsonIndent(reply) };
  }
  return { status: "OK", text: pyStr(reply) };
}

/** One reply as `_say_remote_command_reply` prints it (`showReply` false: the title line only, as `celery status`). */
export function formatReply(node: string, reply: unknown, showReply = true): string {
  const { status, text } = prettyReply(reply);
  const title = `->  ${node}: ${status}`;
  return showReply ? `${title}\n${indentText(text, 4)}` : title;
}

/** The footer of `celery inspect` and `celery status`: "\n1 node online." */
export function nodesOnline(count: number): string {
  return `\n${count} ${count === 1 ? "node" : "nodes"} online.`;
}
