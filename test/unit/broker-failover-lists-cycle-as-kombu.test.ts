/**
 * `broker_url = "amqp://h1;amqp://h2"` with `broker_failover_strategy`, as kombu's Connection cycles
 * it: the first URL first, then the next one the strategy gives after each failure, and the retry
 * interval waited only when a round over every URL failed (completes_cycle).
 */
import { FailoverCycle, splitBrokerUrls } from "../../src/connectivity/failover";

test("the URLs are the ;-separated parts, as kombu splits them", () => {
  expect(splitBrokerUrls("amqp://a//;amqp://u:p@b:5673/v; amqp://c")).toEqual(["amqp://a//", "amqp://u:p@b:5673/v", "amqp://c"]);
  expect(splitBrokerUrls("amqp://a//")).toEqual(["amqp://a//"]);
});

test("round-robin (the default): the list in order, again and again; a round ends after each URL failed once", () => {
  const c = new FailoverCycle(["h1", "h2", "h3"], null);
  expect(c.current).toBe("h1");
  expect([c.next(), c.next(), c.next(), c.next()]).toEqual(["h2", "h3", "h1", "h2"]);
  expect([1, 2, 3, 4, 5, 6].map((n) => c.completesCycle(n))).toEqual([false, false, true, false, false, true]);
  expect(new FailoverCycle(["only"]).completesCycle(1)).toBe(true);
});

test("shuffle: a random URL of the list after each failure (kombu's shufflecycle)", () => {
  const draws = [0.9, 0.1, 0.5];
  const c = new FailoverCycle(["h1", "h2", "h3"], "shuffle", () => draws.shift() ?? 0);
  expect(c.current).toBe("h1");
  expect([c.next(), c.next(), c.next()]).toEqual(["h3", "h1", "h2"]);
});

test("an unknown strategy is refused by name", () => {
  expect(() => new FailoverCycle(["h1"], "priority" as never)).toThrow("unknown broker_failover_strategy 'priority' (known: round-robin, shuffle)");
});
