/**
 * Key, bucket, binding and channel names of kombu's Redis transport (docs/protocol.md §5.2–§5.8).
 * Every function returns names WITHOUT the global key prefix unless it says otherwise.
 */

/** kombu `_get_message_priority`: int(priority) clamped to 0..9; missing/invalid → 0. */
export function clampPriority(priority: unknown): number {
  let n: number;
  if (typeof priority === "number") n = priority;
  else if (typeof priority === "bigint") n = Number(priority);
  else if (typeof priority === "string" && /^\s*[-+]?\d+\s*$/.test(priority)) n = Number(priority);
  else return 0;
  if (!Number.isFinite(n)) return 0;
  return Math.max(0, Math.min(9, Math.trunc(n)));
}

/** kombu `priority(n)`: the largest step ≤ n. */
export function priorityStep(priority: number, steps: readonly number[]): number {
  let chosen = steps[0];
  for (const s of steps) if (s <= priority) chosen = s;
  return chosen;
}

/** kombu `_q_for_pri`: the list holding messages of that priority ("q" or "q\x06\x16<step>"). */
export function queueForPriority(queue: string, priority: unknown, steps: readonly number[], sep: string): string {
  const step = priorityStep(clampPriority(priority), steps);
  return step ? `${queue}${sep}${step}` : queue;
}

/** Every list of a queue, bucket 0 first. */
export function bucketKeys(queue: string, steps: readonly number[], sep: string): string[] {
  return steps.map((s) => (s ? `${queue}${sep}${s}` : queue));
}

/** `_kombu.binding.<exchange>`. */
export function bindingKey(exchange: string): string {
  return `_kombu.binding.${exchange}`;
}

/** Member `<routing_key>SEP<pattern>SEP<queue>`. */
export function bindingMember(routingKey: string, pattern: string, queue: string, sep: string): string {
  return [routingKey, pattern, queue].join(sep);
}

export interface Binding {
  routingKey: string;
  pattern: string;
  queue: string;
}

/** Parse a binding member; null when it does not have three parts (kombu would fail on it). */
export function parseBindingMember(member: string, sep: string): Binding | null {
  const parts = member.split(sep);
  if (parts.length !== 3) return null;
  return { routingKey: parts[0], pattern: parts[1], queue: parts[2] };
}

/** Python `str.isalnum` for one character (Unicode letters and digits). */
const ALNUM = /^[\p{L}\p{N}]$/u;

/** kombu `escape_regex(p, white)`. */
function escapeRegex(p: string, white: string): string {
  let out = "";
  for (const c of p) {
    if (ALNUM.test(c) || white.includes(c)) out += c;
    else if (c === "\0") out += "\\000";
    else out += "\\" + c;
  }
  return out;
}

/** kombu TopicExchange.key_to_pattern: the regex stored as binding pattern of a topic binding. */
export function topicKeyToPattern(routingKey: string): string {
  const wildcards: { [w: string]: string } = { "*": ".*?[^\\.]", "#": ".*?" };
  const words = escapeRegex(routingKey, ".#*").split(".");
  return "^" + words.map((w) => wildcards[w] ?? w).join("\\.") + "$";
}

const compiled = new Map<string, RegExp | null>();

/** Python `re.match(pattern, key)` for the patterns kombu writes (anchored with ^…$). */
export function topicMatch(pattern: string, routingKey: string): boolean {
  let re = compiled.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern.startsWith("^") ? pattern : "^(?:" + pattern + ")");
    } catch {
      re = null;
    }
    if (compiled.size > 10000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re !== null && re.test(routingKey);
}

/**
 * The queues a binding table routes `routingKey` to (kombu `_lookup` for a named exchange):
 * direct = equality on the binding routing key, topic = the stored regex pattern. When the
 * exchange type is unknown, a binding with a pattern is treated as topic, one without as direct
 * (kombu writes a pattern only for topic bindings).
 */
export function routeThroughBindings(
  bindings: readonly Binding[],
  routingKey: string,
  type: "direct" | "topic" | undefined,
): string[] {
  const out = new Set<string>();
  for (const b of bindings) {
    const topic = type === "topic" || (type === undefined && b.pattern !== "");
    if (topic) {
      const pattern = b.pattern !== "" ? b.pattern : topicKeyToPattern(b.routingKey);
      if (topicMatch(pattern, routingKey)) out.add(b.queue);
    } else if (b.routingKey === routingKey) {
      out.add(b.queue);
    }
  }
  return [...out];
}

/** kombu `_get_publish_topic`: fanout channel (without global prefix). */
export function fanoutChannel(fanoutPrefix: string, exchange: string, routingKey: string, fanoutPatterns: boolean): string {
  return routingKey && fanoutPatterns ? `${fanoutPrefix}${exchange}/${routingKey}` : `${fanoutPrefix}${exchange}`;
}

/** kombu `_queue_bind` for fanout: the PSUBSCRIBE pattern (`#` → `*`). */
export function fanoutSubscribePattern(fanoutPrefix: string, exchange: string, bindingKey: string, fanoutPatterns: boolean): string {
  return fanoutChannel(fanoutPrefix, exchange, bindingKey.replace(/#/g, "*"), fanoutPatterns);
}

/**
 * Routing key carried by a received fanout channel name (kombu `_receive_one`: drop up to the
 * first "." after a leading "/", then what follows the first "/" is the routing key).
 */
export function routingKeyFromChannel(channel: string): string {
  let c = channel;
  if (c.startsWith("/")) {
    const dot = c.indexOf(".");
    c = dot >= 0 ? c.slice(dot + 1) : "";
  }
  const slash = c.indexOf("/");
  return slash >= 0 ? c.slice(slash + 1) : "";
}
