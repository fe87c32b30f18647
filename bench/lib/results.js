// bench/results/*.json: a run's figures with when, where and with what they were measured, for
// bench/readme-table.js.
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { ROOT, PY, RESULTS_DIR } = require("./config");

function quiet(fn, fallback = "?") {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

/** Cores, CPU model, RAM and OS of this machine. */
function machine() {
  const cpus = os.cpus();
  return { cores: cpus.length, cpuModel: cpus[0]?.model.trim() ?? "?", ramGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10, os: `${os.type()} ${os.release()}` };
}

const packageVersion = (name) => quiet(() => require(`${name}/package.json`).version);

/** Versions of everything a run compares (the brokers' come from Servers#versions). */
function versions() {
  const git = (...args) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  const dirty = quiet(() => git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results") !== "", false);
  return {
    node: process.version,
    celeriac: `${require(path.join(ROOT, "package.json")).version} (${quiet(() => git("rev-parse", "--short", "HEAD"))}${dirty ? ", modified" : ""})`,
    pythonCelery: quiet(() => execFileSync(PY, ["-c", "import celery; print(celery.__version__)"], { encoding: "utf8" }).trim()),
    python: PY,
    celeryNode: packageVersion("celery-node"),
    bullmq: packageVersion("bullmq"),
  };
}

/** Writes bench/results/<name>.json; returns its path. */
function writeResults(name, data) {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + "\n");
  return file;
}

/** bench/results/<name>.json parsed, or null when there is none. */
function readResults(name) {
  const file = path.join(RESULTS_DIR, `${name}.json`);
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : null;
}

module.exports = { machine, versions, writeResults, readResults };
