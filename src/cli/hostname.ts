/** Node name expansion as Celery's `-n`: %h (hostname), %n (name part), %d (domain part). */
import { hostname } from "node:os";

/**
 * Celery's `-n` (`host_format(default_nodename(value))`): a value without `@` is the HOST part of
 * `celery@<value>`; an empty name is `celery`, an empty host this machine's; then `%h`
 * (hostname), `%n` (its name part), `%d` (its domain) and `%%` are expanded.
 */
export function expandNodeName(template: string | undefined, host: string = hostname()): string {
  const at = (template ?? "").indexOf("@");
  const nodeName = at < 0 ? "" : (template ?? "").slice(0, at);
  const nodeHost = at < 0 ? (template ?? "") : (template ?? "").slice(at + 1);
  const dot = host.indexOf(".");
  const name = dot < 0 ? host : host.slice(0, dot);
  const domain = dot < 0 ? "" : host.slice(dot + 1);
  const full = `${nodeName || "celery"}@${nodeHost || host}`;
  return full.replace(/%(.)/g, (m: string, c: string) => (c === "h" ? host : c === "n" ? name : c === "d" ? domain : c === "%" ? "%" : m));
}
