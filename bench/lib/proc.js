// Processes of the benchmark: spawning a worker, stopping it, and what /proc says about a process tree
// (resident memory, CPU time).
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 5 ms until it is true; throws `timed out: <what>` after `ms`. */
async function waitUntil(check, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(5);
  }
  throw new Error(`timed out: ${what}`);
}

/** Runs a command that prints one JSON line last; returns it parsed. */
function runJson(cmd, args, env, cwd) {
  const out = execFileSync(cmd, args, { env: { ...process.env, ...env }, cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 26 });
  const lines = out.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

/** The fields of /proc/<pid>/stat after the command name: [state, ppid, ...] (stat(5) field 3 on). */
function statFields(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** pid and all its descendants. */
function treeOf(pid) {
  const children = new Map();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(statFields(entry)[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // the process exited between readdir and read
    }
  }
  const tree = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    tree.push(p);
    stack.push(...(children.get(p) || []));
  }
  return tree;
}

/** Sum of VmRSS of a process tree, MB. */
function rssOfTree(pid) {
  let kb = 0;
  for (const p of treeOf(pid)) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, "utf8"));
      if (m) kb += Number(m[1]);
    } catch {
      // the process exited meanwhile
    }
  }
  return kb / 1024;
}

let ticksPerSecond = 0;
/**
 * CPU time of a process tree so far, ms: utime + stime of each process, plus cutime + cstime (its
 * children that have exited), so the difference of two readings is the tree's CPU in between.
 */
function cpuMsOfTree(pid) {
  if (!ticksPerSecond) ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  let ticks = 0;
  for (const p of treeOf(pid)) {
    try {
      const f = statFields(p);
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // the process exited meanwhile
    }
  }
  return (ticks * 1000) / ticksPerSecond;
}

/**
 * While started: the peak RSS of a process tree (sampled every 100 ms), and the CPU of that tree
 * and of the servers' trees (Redis, RabbitMQ) from start() to stop().
 */
class Meter {
  /** @param {number} pid @param {number[]} serverPids */
  constructor(pid, serverPids) {
    this.pid = pid;
    this.serverPids = serverPids;
  }
  serverCpu() {
    return this.serverPids.reduce((sum, p) => sum + cpuMsOfTree(p), 0);
  }
  start() {
    this.peakRss = rssOfTree(this.pid);
    this.sampler = setInterval(() => (this.peakRss = Math.max(this.peakRss, rssOfTree(this.pid))), 100);
    this.cpu0 = cpuMsOfTree(this.pid);
    this.server0 = this.serverCpu();
    this.t0 = process.hrtime.bigint();
    return this;
  }
  /**
   * @param {bigint} [end] when the measured work ended (process.hrtime.bigint()), if before now
   * @returns {{ seconds: number, peakRss: number, cpuMs: number, serverCpuMs: number | null }}
   */
  stop(end = process.hrtime.bigint()) {
    const seconds = Number(end - this.t0) / 1e9;
    const cpuMs = cpuMsOfTree(this.pid) - this.cpu0;
    const serverCpuMs = this.serverPids.length ? this.serverCpu() - this.server0 : null;
    clearInterval(this.sampler);
    return { seconds, peakRss: Math.max(this.peakRss, rssOfTree(this.pid)), cpuMs, serverCpuMs };
  }
}

/**
 * Resolves, once a process tree has used no CPU for `quietMs`, to when it last did
 * (process.hrtime.bigint()): when a worker whose broker cannot say so finished its work.
 */
async function lastBusy(pid, quietMs = 200) {
  let cpu = cpuMsOfTree(pid);
  let last = process.hrtime.bigint();
  for (;;) {
    await sleep(5);
    const now = cpuMsOfTree(pid);
    if (now !== cpu) {
      cpu = now;
      last = process.hrtime.bigint();
    } else if (Number(process.hrtime.bigint() - last) / 1e6 >= quietMs) {
      return last;
    }
  }
}

/** SIGTERM, then SIGKILL after 10 s; resolves once it exited. */
async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  await new Promise((r) => {
    const t = setTimeout(() => {
      child.kill("SIGKILL");
      r();
    }, 10000);
    child.on("exit", () => {
      clearTimeout(t);
      r();
    });
  });
}

/**
 * Starts a worker ({ cmd, args, cwd, env }) with `env` added; keeps its stderr (for error messages)
 * and its stdout lines (a peer that says when it is ready).
 */
function spawnWorker(worker, env) {
  const child = spawn(worker.cmd, worker.args, { cwd: worker.cwd, env: { ...process.env, ...env, ...worker.env }, stdio: ["ignore", "pipe", "pipe"] });
  const out = { child, stderr: "", stdout: "" };
  child.stderr.on("data", (d) => (out.stderr += d.toString()));
  child.stdout.on("data", (d) => (out.stdout = (out.stdout + d.toString()).slice(-65536)));
  return out;
}

module.exports = { sleep, waitUntil, runJson, rssOfTree, cpuMsOfTree, lastBusy, Meter, stopChild, spawnWorker };
