// Chaos soak (npm run soak): SOAK_TASKS tasks from a Python and a Node producer into SOAK_WORKERS
// celeriac CLI workers (queue soak.late: acks_late; soak.early: default acks), once on a Redis
// broker and once on RabbitMQ, while workers are SIGKILLed and started again every SOAK_KILL_EVERY
// seconds and the broker is restarted SOAK_BROKER_RESTARTS times per phase. Every run is counted
// in a private ledger Redis that is never restarted. Parameters: bench/soak/config.js.
// Prints the tables, then one line `SOAK_RESULT <json>`. Exit status: 1 when an acks_late task was
// lost (on either broker), a worker crashed or a fault was never recovered from; else 0.
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const Redis = require("ioredis");
const { PrivateRedis, PrivateRabbit, ROOT } = require("./brokers");
const { config } = require("./config");
const { Fleet } = require("./fleet");
const { keys } = require("./keys");
const { Sampler, tally } = require("./ledger");
const { redisPhase, amqpPhase, sleep } = require("./phases");
const { plan, recovery } = require("./schedule");
const report = require("./report");

const cfg = config();
const logDir = path.join(ROOT, ".tmp", `soak-logs-${cfg.REDIS_PORT}`);
/** Fleets and services to stop when the soak is interrupted (SIGINT/SIGTERM). */
const running = new Set();
const log = (msg) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** Runs a producer to the end; resolves with its {sent, failed} line. */
function produce(label, cmd, args, env) {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(path.join(logDir, `producer-${label}.log`), "w");
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", out] });
    fs.closeSync(out);
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.on("exit", (code) => {
      const last = stdout.trim().split("\n").pop();
      if (code === 0) resolve(JSON.parse(last));
      else reject(new Error(`producer ${label} exited ${code}: see ${path.join(logDir, `producer-${label}.log`)}`));
    });
  });
}

async function waitUntil(check, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(500);
  }
  if (what) throw new Error(`timed out: ${what}`);
  return false;
}

async function runPhase(phase, ledger, ledgerUrl) {
  const perPhase = Math.floor(cfg.TASKS / cfg.PHASES.length);
  const prefix = `soak:${phase.name}`;
  const k = keys(prefix);
  const env = { SOAK_BROKER: phase.brokerUrl, SOAK_BACKEND: phase.backendUrl, SOAK_LEDGER: ledgerUrl, SOAK_KEY_PREFIX: prefix, SOAK_TASK_MS: String(cfg.TASK_MS), SOAK_VISIBILITY: String(cfg.VISIBILITY) };
  const fleet = new Fleet({ size: cfg.WORKERS, concurrency: cfg.CONCURRENCY, env, logDir: path.join(logDir, phase.name) });
  running.add(fleet);
  fs.mkdirSync(fleet.logDir, { recursive: true });
  try {
    fleet.startAll();
    const ready = () => fleet.workers.every((w) => fs.readFileSync(w.child.log, "utf8").includes("ready."));
    await waitUntil(ready, 60_000, `${phase.name} workers ready (logs in ${fleet.logDir})`);
    const durationS = perPhase / cfg.RATE;
    const faults = plan({ durationS, killEvery: cfg.KILL_EVERY, brokerRestarts: cfg.BROKER_RESTARTS });
    log(`${phase.name}: ${perPhase} tasks at ${cfg.RATE}/s (~${durationS.toFixed(0)} s), faults at ${faults.map((x) => `${x.at.toFixed(1)}s ${x.kind}`).join(", ")}`);
    const t0 = Date.now();
    const sampler = new Sampler(ledger, k, t0);
    const pyCount = Math.floor(perPhase / 2);
    const penv = { ...env, SOAK_RATE: String(cfg.RATE / 2) };
    const producers = Promise.all([
      produce(`${phase.name}-python`, cfg.PYTHON, [path.join(__dirname, "produce.py")], { ...penv, SOAK_COUNT: String(pyCount) }),
      produce(`${phase.name}-node`, process.execPath, [path.join(__dirname, "produce.js")], { ...penv, SOAK_COUNT: String(perPhase - pyCount) }),
    ]);
    producers.catch(() => undefined);
    const done = [];
    for (const fault of faults) {
      await sleep(t0 + fault.at * 1000 - Date.now());
      const start = Date.now() - t0;
      if (fault.kind === "worker-sigkill") {
        const { killed, replacement } = await fleet.killOne(cfg.RESTART_DELAY_MS);
        done.push({ kind: fault.kind, start, end: Date.now() - t0, killed, replacement });
      } else {
        await phase.restartBroker(cfg.OUTAGE_S);
        done.push({ kind: fault.kind, start, end: Date.now() - t0 });
      }
      log(`${phase.name}: ${fault.kind} at ${(start / 1000).toFixed(1)} s done`);
    }
    const produced = await producers;
    const sentAt = Date.now() - t0;
    log(`${phase.name}: producers done after ${(sentAt / 1000).toFixed(1)} s: ${JSON.stringify(produced)}; draining`);
    let last = -1;
    let stableSince = Date.now();
    const drained = await waitUntil(async () => {
      const t = await tally(ledger, k);
      const count = Number((await ledger.get(k.count)) || 0);
      if (count !== last) {
        last = count;
        stableSince = Date.now();
      }
      const lateDone = Object.values(t).every((x) => !x.acksLate || x.lost === 0);
      return lateDone && Date.now() - stableSince >= 3000 && (await phase.idle().catch(() => false));
    }, cfg.DRAIN_S * 1000);
    if (!drained) log(`${phase.name}: not drained after ${cfg.DRAIN_S} s`);
    await fleet.stopAll();
    sampler.stop();
    const tasks = await tally(ledger, k);
    const faultsOut = done.map((x) => ({ ...x, recovery: recovery(sampler, x, cfg.RATE, sentAt) }));
    return { phase: phase.name, t0, seconds: (Date.now() - t0) / 1000, producers: produced, drained, tasks, faults: faultsOut, unexpectedExits: fleet.unexpectedExits };
  } finally {
    fleet.killAll();
    running.delete(fleet);
  }
}

async function main() {
  fs.rmSync(logDir, { recursive: true, force: true });
  fs.mkdirSync(logDir, { recursive: true });
  const brokerRedis = new PrivateRedis(cfg.REDIS_PORT, "redis", true);
  const ledgerRedis = new PrivateRedis(cfg.LEDGER_PORT, "ledger", false);
  const rabbit = new PrivateRabbit(cfg.AMQP_PORT);
  fs.rmSync(brokerRedis.dir, { recursive: true, force: true }); // no AOF of an earlier run
  const phases = [];
  let ledger = null;
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.once(sig, () => {
      log(`${sig}: stopping workers and brokers`);
      for (const fleet of running) fleet.killAll();
      // Fire and forget in a signal handler: allSettled never rejects, and the process exits once all stopped.
      void Promise.allSettled([rabbit.stop(), brokerRedis.stop(), ledgerRedis.stop()]).then(() => process.exit(130));
    });
  }
  try {
    await brokerRedis.start();
    await ledgerRedis.start();
    if (cfg.PHASES.includes("amqp")) await rabbit.reset();
    ledger = new Redis(ledgerRedis.url(0));
    await ledger.flushall();
    const versions = { node: process.version, redis: await brokerRedis.version(), rabbitmq: cfg.PHASES.includes("amqp") ? await rabbit.version() : "-", cores: os.cpus().length };
    log(`params ${JSON.stringify({ ...cfg, PYTHON: path.relative(ROOT, cfg.PYTHON) })}; ${JSON.stringify(versions)}`);
    for (const name of cfg.PHASES) {
      const phase = name === "redis" ? redisPhase(brokerRedis) : name === "amqp" ? amqpPhase(rabbit, brokerRedis) : null;
      if (!phase) throw new Error(`unknown phase ${name} (redis, amqp)`);
      phases.push(await runPhase(phase, ledger, ledgerRedis.url(0)));
    }
    const { problems } = report.verdict(phases);
    console.log(`\n${report.tasksTable(phases)}\n\n${report.faultsTable(phases)}\n\n${report.longest(phases)}\n`);
    if (problems.length) console.log(`PROBLEMS:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    if (!problems.length) console.log("OK: no acks_late task lost, every worker and broker recovered");
    console.log(`worker and producer logs: ${path.relative(ROOT, logDir)}`);
    console.log(`SOAK_RESULT ${JSON.stringify({ params: cfg, versions, phases, problems })}`);
    process.exitCode = problems.length ? 1 : 0;
  } finally {
    ledger?.disconnect();
    await rabbit.stop().catch((e) => console.error(e.message));
    await brokerRedis.stop().catch((e) => console.error(e.message));
    await ledgerRedis.stop().catch((e) => console.error(e.message));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
