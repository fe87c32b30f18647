/**
 * The banner `celeriac worker` prints before it connects: Celery's (celery/apps/worker.py
 * `startup_info` and `extra_info`), with the same art, sections and field names, so what people
 * look for in a worker's first lines (transport, results, concurrency, queues, tasks) is where
 * they expect it. Pure: it formats what it is given.
 */
import { brokerUri, sanitizeUrl, URL_MASK } from "../redact";
import type { LogLevel } from "../logging";

const ARTLINES = [
  " --------------",
  "--- ***** -----",
  "-- ******* ----",
  "- *** --- * ---",
  "- ** ----------",
  "- ** ----------",
  "- ** ----------",
  "- ** ----------",
  "- *** --- * ---",
  "-- ******* ----",
  "--- ***** -----",
  " --------------",
];

/** What the banner shows. */
export interface BannerInfo {
  /** Node name (`celery@host`). */
  hostname: string;
  /** celeriac's version. */
  version: string;
  /** `Linux-6.1.0-x86_64-with-node-v20.1.0`, in the place of Python's `platform.platform()`. */
  platform: string;
  /** Local time the worker started. */
  now: Date;
  /** The app's `main` and an id of this instance (Celery: `proj:0x7f...`). */
  app: string;
  /** broker_url as configured (its password is masked here). */
  broker: string;
  /** result_backend as configured, null when results are disabled. */
  backend: string | null;
  /** Pool processes (or `{min, max}` when autoscaling) and the pool's name. */
  concurrency: string;
  /** Task events are sent (-E). */
  events: boolean;
  /** Queues consumed, each with its exchange and routing key. */
  queues: Array<{ name: string; exchange: string; exchangeType: string; routingKey: string }>;
  /** Registered task names. */
  tasks: string[];
  /** The log level: [tasks] is listed at INFO and below, builtins (`celery.*`) only at DEBUG. */
  logLevel: LogLevel;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** Python's `str(datetime.now().replace(microsecond=0))`. */
function localTime(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** kombu's `Queue.__repr__`-like line of `Queues.format()`. */
function queueLine(q: BannerInfo["queues"][number]): string {
  return `.> ${q.name.padEnd(16)} exchange=${q.exchange}(${q.exchangeType}) key=${q.routingKey}`;
}

/** The banner text, as Celery prints it (art included; no colours). */
export function workerBanner(info: BannerInfo): string {
  const lines = [
    `${info.hostname} v${info.version}`,
    "",
    `${info.platform} ${localTime(info.now)}`,
    "",
    "[config]",
    `.> app:         ${info.app}`,
    `.> transport:   ${brokerUri(info.broker)}`,
    `.> results:     ${info.backend ? sanitizeUrl(info.backend, URL_MASK) : "disabled://"}`,
    `.> concurrency: ${info.concurrency}`,
    `.> task events: ${info.events ? "ON" : "OFF (enable -E to monitor tasks in this worker)"}`,
    "",
    "[queues]",
    ...info.queues.map(queueLine),
  ].map((line, i) => (i < ARTLINES.length ? `${ARTLINES[i]} ${line}` : `${" ".repeat(16)}${line}`));
  let text = ` \n${lines.join("\n")}\n`;
  if (info.logLevel === "DEBUG" || info.logLevel === "INFO") {
    const shown = [...info.tasks].sort().filter((t) => info.logLevel === "DEBUG" || !t.startsWith("celery."));
    text += `\n[tasks]\n${shown.map((t) => `  . ${t}`).join("\n")}\n`;
  }
  return text;
}
