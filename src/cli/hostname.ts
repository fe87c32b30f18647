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

/**
 * Celery's `node_format` for `--logfile`, `--pidfile` and `--statedb` paths of node `nodeName`:
 * `%p` (the full node name), `%n` (its name part), `%h` (its host), `%d` (the host's domain),
 * `%i` (the pool process index: 0 in the main process) and `%I` (empty there), `%%`.
 */
export function nodeFormat(template: string, nodeName: string): string {
  const at = nodeName.indexOf("@");
  const name = at < 0 ? "celery" : nodeName.slice(0, at) || "celery";
  const host = at < 0 ? nodeName : nodeName.slice(at + 1);
  const dot = host.indexOf(".");
  const keys: Record<string, string> = { p: nodeName, n: name, h: host, d: dot < 0 ? "" : host.slice(dot + 1), i: "0", I: "", "%": "%" };
  return template.replace(/%(.)/g, (m: string, c: string) => keys[c] ?? m);
}
