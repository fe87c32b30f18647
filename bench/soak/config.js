// Soak parameters: SOAK_* environment variables, or --kebab-case=value arguments (--tasks=4000 is SOAK_TASKS=4000).
const path = require("node:path");
const { ROOT } = require("./brokers");

const DEFAULTS = {
  TASKS: 100000, // over all phases; half from the Python producer, half from the Node producer
  RATE: 250, // tasks/s sent per phase (both producers together)
  PHASES: "redis,amqp",
  WORKERS: 3,
  CONCURRENCY: 10,
  TASK_MS: 50, // async work per task
  KILL_EVERY: 10, // s between worker SIGKILLs
  RESTART_DELAY_MS: 1000, // killed worker started again after this
  BROKER_RESTARTS: 2, // per phase
  OUTAGE_S: 3, // broker down for this long at each restart
  VISIBILITY: 10, // s: Redis visibility timeout (when an unacked acks_late task of a dead worker comes back)
  DRAIN_S: 120, // max wait after the last send for the queues to drain
  REDIS_PORT: 16395,
  LEDGER_PORT: 16396,
  AMQP_PORT: 5705,
  PYTHON: path.join(ROOT, "interop-tests/.venv/bin/python"),
};

function config(argv = process.argv.slice(2), env = process.env) {
  const fromArgs = {};
  for (const a of argv) {
    const m = /^--([a-z-]+)=(.*)$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a} (use --name=value, e.g. --tasks=4000)`);
    fromArgs[m[1].toUpperCase().replace(/-/g, "_")] = m[2];
  }
  const out = {};
  for (const [k, d] of Object.entries(DEFAULTS)) {
    if (fromArgs[k] === undefined && env[`SOAK_${k}`] === undefined) out[k] = d;
    else out[k] = typeof d === "number" ? Number(fromArgs[k] ?? env[`SOAK_${k}`]) : String(fromArgs[k] ?? env[`SOAK_${k}`]);
  }
  for (const k of Object.keys(fromArgs)) if (!(k in DEFAULTS)) throw new Error(`unknown parameter --${k.toLowerCase().replace(/_/g, "-")}`);
  out.PHASES = out.PHASES.split(",");
  return out;
}

module.exports = { config };
