/**
 * docs/reference/configuration.md: every setting of `CeleryConfig` with its names
 * (src/settings-names.ts), default (`DEFAULTS`, src/config.ts), the side that reads it and the
 * first sentence of its doc comment in src/config.ts. Reads the built dist/ for the tables.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const ts = require("typescript");
const { pageHead, table, code } = require("./markdown");
const { CELERY_DEFAULTS_DIFFER } = require("./celery-facts");

const ROOT = path.resolve(__dirname, "../..");

/**
 * Who reads each setting, established from the code (where `conf.<key>` is read): "worker" (the
 * worker: consuming, running, storing results, remote control), "client" (any code that sends
 * tasks or reads results: a service, a task's handler, beat's sends, eager runs), "beat" (the
 * scheduler), "links" (the broker and backend connections of every app: worker, client and beat),
 * "nothing" (accepted, not read).
 */
const READ_BY = {
  broker: "links",
  backend: "worker, client",
  taskSerializer: "client",
  resultSerializer: "worker, client",
  acceptContent: "worker, client",
  securityKey: "worker, client",
  securityKeyPassword: "worker, client",
  securityCertificate: "worker, client",
  securityCertStore: "worker, client",
  securityDigest: "worker, client",
  securityLayout: "worker, client",
  taskCompression: "client",
  taskDefaultQueue: "worker, client",
  taskDefaultExchange: "nothing",
  taskDefaultRoutingKey: "nothing",
  taskDefaultPriority: "client",
  taskRoutes: "client",
  resultExpires: "worker, client",
  resultExtended: "worker",
  taskInheritParentPriority: "client",
  resultChordRetryInterval: "worker",
  taskTrackStarted: "worker",
  taskAcksLate: "worker",
  taskIgnoreResult: "worker, client",
  taskStoreErrorsEvenIfIgnored: "worker, client",
  taskAlwaysEager: "client",
  taskEagerPropagates: "client",
  taskStoreEagerResult: "client",
  taskAcksOnFailureOrTimeout: "worker",
  taskRejectOnWorkerLost: "worker",
  taskAnnotations: "worker, client",
  taskDefaultRateLimit: "worker",
  workerSendTaskEvents: "worker",
  workerEnableRemoteControl: "worker",
  taskSendSentEvent: "client",
  eventSerializer: "worker, client",
  taskTimeLimit: "worker",
  taskSoftTimeLimit: "worker",
  workerPrefetchMultiplier: "worker",
  workerConcurrency: "worker",
  workerPoolRestarts: "worker",
  workerRedirectStdouts: "worker",
  workerRedirectStdoutsLevel: "worker",
  workerMaxMessageSize: "worker",
  workerMaxNestingDepth: "worker",
  brokerTransportOptions: "links",
  brokerUseSsl: "links",
  redisBackendUseSsl: "worker, client",
  brokerFailoverStrategy: "links",
  brokerHeartbeat: "links",
  brokerConnectionRetryOnStartup: "worker",
  brokerConnectionRetry: "links",
  brokerConnectionMaxRetries: "links",
  brokerConnectionTimeout: "links",
  taskQueueMaxPriority: "links",
  taskDefaultQueueType: "links",
  workerDetectQuorumQueues: "worker",
  resultBackendTransportOptions: "worker, client",
  taskProtocol: "client",
  taskProtocolExtras: "client",
  beatSchedule: "beat",
  djangoDatabase: "worker, client",
  timezone: "beat",
  enableUtc: "beat",
  beatMaxLoopInterval: "beat",
  beatScheduleFilename: "beat",
  beatCronStartingDeadline: "beat",
  beatSchedulerRedisUrl: "beat",
  beatSchedulerKeyPrefix: "beat",
  beatSchedulerLeaseTimeout: "beat",
};

/** The doc comment of each `CeleryConfig` property in src/config.ts, as one line of text. */
function docComments() {
  const file = path.join(ROOT, "src/config.ts");
  const sf = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
  const out = {};
  const visit = (node) => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === "CeleryConfig") {
      for (const m of node.members) {
        if (!ts.isPropertySignature(m)) continue;
        const docs = ts.getJSDocCommentsAndTags(m).filter(ts.isJSDoc);
        out[m.name.getText(sf)] = docs.map((d) => ts.getTextOfJSDocComment(d.comment) ?? "").join(" ").replace(/\s+/g, " ").trim();
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The meaning of a setting: its comment without the leading Celery name or "celeriac:" tag, first sentence. */
function meaningOf(comment, celeryName) {
  let text = comment.replace(new RegExp(`^${celeryName}\\b(\\s*\\([^)]*\\))?:?\\s*`), "").replace(/^celeriac(-only)?:\s*/, "");
  const sentence = /^(.*?[.!?])(?=\s+[A-Z`("]|$)/.exec(text);
  if (sentence) text = sentence[1];
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The page's text. */
function configurationPage() {
  const { DEFAULTS } = require(path.join(ROOT, "dist/config.js"));
  const names = require(path.join(ROOT, "dist/settings-names.js"));
  const comments = docComments();
  const rows = [];
  for (const key of names.settingKeys()) {
    const side = READ_BY[key];
    if (!side) throw new Error(`scripts/docs-reference/configuration.js: READ_BY has no entry for ${key}`);
    if (!comments[key]) throw new Error(`src/config.ts: CeleryConfig.${key} has no doc comment`);
    const celery = names.celerySettingName(key);
    const only = names.CELERIAC_ONLY.has(key);
    const differ = CELERY_DEFAULTS_DIFFER[key];
    const def = code(JSON.stringify(DEFAULTS[key])) + (differ ? ` (Celery: ${code(differ.celery)}, ${differ.means})` : "");
    const old = names.oldSettingName(key);
    const named = only ? `${code(key)}<br>celeriac only (also read as ${code(celery)})` : `${code(key)}<br>${code(celery)}${old ? `<br>old: ${code(old)}` : ""}`;
    rows.push({ section: sectionOf(key), cells: [named, def, side, meaningOf(comments[key], celery)] });
  }
  const missing = Object.keys(READ_BY).filter((k) => !(k in DEFAULTS));
  if (missing.length) throw new Error(`scripts/docs-reference/configuration.js: READ_BY names settings that do not exist: ${missing.join(", ")}`);
  return (
    pageHead("Configuration", "src/config.ts and src/settings-names.ts") +
    `
Every setting celeriac reads. Each is accepted under any of its names: celeriac's camelCase key
(\`taskSerializer\`), Celery's name (\`task_serializer\`) and its camelCase, and Celery's name before
4.0 (\`CELERY_TASK_SERIALIZER\`), in \`new Celery(main, settings)\`, \`app.conf\`,
\`app.configFromObject()\` (with Celery's \`namespace\`, as Django projects write \`CELERY_BROKER_URL\`)
and the worker's \`--config\` file. An unknown name is warned about once, with the nearest known name.
The environment's \`CELERY_BROKER_URL\` and \`CELERY_RESULT_BACKEND\` win over every other source, as
in Celery (\`-b\` and \`--result-backend\` of the [CLI](./cli.md) set them). The API reference of
these settings is {@link CeleryConfig}.

Each setting is listed with celeriac's key, then Celery's name and Celery's old name. "Read by" says which code reads a setting: the **worker**; a **client** (any code that sends tasks
or reads results: a Node service, a task's handler sending subtasks, beat's sends, eager runs);
**beat**; **links** (the broker connections of every app, worker, client and beat alike); or
**nothing** (accepted so that Celery's config files load, not read). Python Celery reads the
settings it has the same way, so a config shared by both languages means the same on both sides.
Defaults are Celery's except where the Default column says otherwise.

` +
    SECTIONS.filter(([title]) => rows.some((r) => r.section === title))
      .map(([title]) => `\n## ${title}\n\n` + table(["Setting<br>Celery's name", "Default", "Read by", "Meaning"], rows.filter((r) => r.section === title).map((r) => r.cells)))
      .join("")
  );
}

/** The page's sections, in order, and the keys each takes (by the start of the key). */
const SECTIONS = [
  ["Broker", /^broker/],
  ["Tasks", /^task/],
  ["Results", /^(backend|result|redisBackend|djangoDatabase)/],
  ["Serializers and signing", /^(acceptContent|eventSerializer|security)/],
  ["Worker", /^worker/],
  ["Beat and time zones", /^(beat|timezone|enableUtc)/],
];

/** The section of a setting. */
function sectionOf(key) {
  const found = SECTIONS.find(([, match]) => match.test(key));
  if (!found) throw new Error(`scripts/docs-reference/configuration.js: no section takes ${key}`);
  return found[0];
}

module.exports = { configurationPage, READ_BY };
