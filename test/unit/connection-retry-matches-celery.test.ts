/** Startup retry waits, their wording and URL masking as Celery/kombu produce them. */
import { humanizeSeconds, retryIntervals } from "../../src/connectivity/retry";
import { maskUrl, urlEndpoint } from "../../src/connectivity/url";
import { connectionFailure } from "../../src/connectivity/errors";

test("waits follow kombu's ensure_connection defaults: 2, 4, ... 30 s, then 30 s", () => {
  const it = retryIntervals();
  const first = Array.from({ length: 17 }, () => it.next().value);
  expect(first).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 30, 30]);
});

test("humanizeSeconds writes Celery's `in 2.00 seconds` / `in 1.00 second` / `now`", () => {
  expect(humanizeSeconds(2)).toBe("in 2.00 seconds");
  expect(humanizeSeconds(1)).toBe("in 1.00 second");
  expect(humanizeSeconds(0)).toBe("now");
});

test("maskUrl hides the password as kombu's as_uri does, and leaves URLs without one alone", () => {
  expect(maskUrl("redis://:s3cret@127.0.0.1:6379/0")).toBe("redis://:**@127.0.0.1:6379/0");
  expect(maskUrl("amqp://guest:guest@127.0.0.1:5672//")).toBe("amqp://guest:**@127.0.0.1:5672//");
  expect(maskUrl("rediss://user:p%40ss@h:6380/1?ssl_cert_reqs=required")).toBe("rediss://user:**@h:6380/1?ssl_cert_reqs=required");
  expect(maskUrl("redis://h:6379/0?password=x&db=1")).toBe("redis://h:6379/0?password=**&db=1");
  expect(maskUrl("redis://127.0.0.1:6379/0")).toBe("redis://127.0.0.1:6379/0");
});

test("urlEndpoint fills the scheme's default port", () => {
  expect(urlEndpoint("redis://:x@h")).toEqual({ host: "h", port: 6379 });
  expect(urlEndpoint("amqps://u:p@[::1]/v")).toEqual({ host: "::1", port: 5671 });
});

test("a failure names the URL with its password masked, in its message and its url", () => {
  const f = connectionFailure("redis://:s3cret@h:1/0", new Error("boom s3cret-free"));
  expect(f.message).toBe("Cannot connect to redis://:**@h:1/0: boom s3cret-free");
  expect(f.url).toBe("redis://:**@h:1/0");
});
