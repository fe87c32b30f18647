// The soak's celeriac workers: `node dist/cli/main.js worker -A bench/soak/app.js` processes that
// the chaos schedule SIGKILLs and starts again under the same node name. Each start is an
// instance `<name>#<generation>` (SOAK_INSTANCE), logged to <logDir>/<name>-<generation>.log.
// An exit nobody asked for (a crash) is recorded in `unexpectedExits`.
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { ROOT } = require("./brokers");

/** @typedef {{ child: import("node:child_process").ChildProcess, instance: string, log: string, expectedExit: boolean }} Running */

class Fleet {
  constructor({ size, concurrency, env, logDir }) {
    this.env = env;
    this.concurrency = concurrency;
    this.logDir = logDir;
    this.unexpectedExits = [];
    this.workers = Array.from({ length: size }, (_, i) => ({ name: `soak${i + 1}`, generation: 0, child: /** @type {Running | null} */ (null) }));
    this.nextVictim = 0;
  }

  startAll() {
    for (const w of this.workers) this.start(w);
  }

  start(w) {
    w.generation++;
    const instance = `${w.name}#${w.generation}`;
    const log = path.join(this.logDir, `${w.name}-${w.generation}.log`);
    const out = fs.openSync(log, "w");
    // -P eventloop on purpose: the soak's tasks are async I/O (a sleep and a Redis write), the
    // event pool's case, and what it checks (no message lost across SIGKILLs of the worker) is the
    // main process's; prefork would add WORKERS x CONCURRENCY child processes (30) to a 2-core box.
    const args = [path.join(ROOT, "dist/cli/main.js"), "worker", "-A", "bench/soak/app.js", "-P", "eventloop", "-Q", "soak.late,soak.early", "-c", String(this.concurrency), "-n", `${w.name}@%h`, "-l", "info"];
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...this.env, SOAK_INSTANCE: instance }, stdio: ["ignore", out, out] });
    fs.closeSync(out);
    const entry = { child, instance, log, expectedExit: false };
    child.on("exit", (code, signal) => {
      if (!entry.expectedExit) this.unexpectedExits.push({ instance, code, signal, log });
    });
    w.child = entry;
    return instance;
  }

  /** SIGKILL the next worker (round robin); start it again after `restartDelayMs`. Resolves with the new instance. */
  async killOne(restartDelayMs) {
    const w = this.workers[this.nextVictim++ % this.workers.length];
    const victim = w.child;
    victim.expectedExit = true;
    victim.child.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, restartDelayMs));
    return { killed: victim.instance, replacement: this.start(w) };
  }

  /** Warm shutdown of every worker (SIGTERM), SIGKILL after `graceMs`. */
  async stopAll(graceMs = 20_000) {
    const running = this.workers.map((w) => w.child).filter((entry) => entry && entry.child.exitCode === null && entry.child.signalCode === null);
    await Promise.all(
      running.map((entry) => {
        entry.expectedExit = true;
        return new Promise((resolve) => {
          const timer = setTimeout(() => entry.child.kill("SIGKILL"), graceMs);
          entry.child.on("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          entry.child.kill("SIGTERM");
        });
      }),
    );
  }

  /** Kill whatever still runs (cleanup on failure). */
  killAll() {
    for (const w of this.workers) {
      if (!w.child) continue;
      w.child.expectedExit = true;
      w.child.child.kill("SIGKILL");
    }
  }
}

module.exports = { Fleet };
