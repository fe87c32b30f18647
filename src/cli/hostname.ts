/** Node name expansion as Celery's `-n`: %h (hostname), %n (name part), %d (domain part). */
import { hostname } from "node:os";

/** Expand `%h`, `%n`, `%d`; a name without `@` gets `@<hostname>`. */
export function expandNodeName(template: string | undefined, host: string = hostname()): string {
  const dot = host.indexOf(".");
  const name = dot < 0 ? host : host.slice(0, dot);
  const domain = dot < 0 ? "" : host.slice(dot + 1);
  const raw = (template ?? "celery@%h").replace(/%h/g, host).replace(/%n/g, name).replace(/%d/g, domain).replace(/%%/g, "%");
  return raw.includes("@") ? raw : `${raw}@${host}`;
}
