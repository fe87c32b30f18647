/** Startup retry waits, their wording and URL masking as Celery/kombu produce them. */
import { humanizeSeconds, retryIntervals } from "../../src/connectivity/retry";
import { maskUrl, urlEndpoint } from "../../src/connectivity/url";
import { connectionFailure } from "../../src/connectivity/errors";
import { execFileSync } from "child_process";

/** Runs `code` under Debian's Celery 5.2 / kombu 5.2 (/usr/bin/python3) and parses the JSON it prints. */
function python(code: string): unknown {
  return JSON.parse(execFileSync("/usr/bin/python3", ["-c", `import json\n${code}`], { encoding: "utf8" }));
}

test("waits follow kombu's ensure_connection defaults: 2, 4, ... 30 s, then 30 s", () => {
  const it = retryIntervals();
  const first = Array.from({ length: 17 }, () => it.next().value);
  // kombu's Connection.ensure_connection defaults (interval_start=2, interval_step=2, interval_max=30)
  // feed kombu.utils.functional.retry_over_time, which waits fxrange(2, 30, 2, repeatlast=True)
  const want = python("from itertools import islice\nfrom kombu.utils.functional import fxrange\nprint(json.dumps(list(islice(fxrange(2, 30, 2, repeatlast=True), 17))))");
  expect(first).toEqual(want);
  expect(first).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 30, 30]);
});

test("humanizeSeconds writes Celery's `in 2.00 seconds` / `in 1.00 second` / `now`", () => {
  // celery/worker/consumer/consumer.py Consumer.ensure_connected._error_handler: humanize_seconds(interval, 'in', ' ')
  const want = python("from celery.utils.time import humanize_seconds\nprint(json.dumps([humanize_seconds(x, 'in', ' ') for x in (2, 1, 0)]))");
  expect([2, 1, 0].map((x) => humanizeSeconds(x))).toEqual(want);
  expect(want).toEqual(["in 2.00 seconds", "in 1.00 second", "now"]);
});

test("maskUrl hides the password as kombu's as_uri does, and leaves URLs without one alone", () => {
  const urls = ["redis://:s3cret@127.0.0.1:6379/0", "amqp://guest:guest@127.0.0.1:5672//", "redis://127.0.0.1:6379/0"];
  // kombu 5.2's Connection(url).as_uri() (the form Celery's banner and connection errors print)
  const want = python(`from kombu import Connection\nprint(json.dumps([Connection(u).as_uri() for u in ${JSON.stringify(urls)}]))`);
  expect(urls.map((u) => maskUrl(u))).toEqual(want);
});

test("maskUrl keeps the query string (kombu's as_uri drops it) and masks a password= parameter (celeriac's own)", () => {
  expect(maskUrl("rediss://user:p%40ss@h:6380/1?ssl_cert_reqs=required")).toBe("rediss://user:**@h:6380/1?ssl_cert_reqs=required");
  expect(maskUrl("redis://h:6379/0?password=x&db=1")).toBe("redis://h:6379/0?password=**&db=1");
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
