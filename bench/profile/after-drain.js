// Lone round trips right after a burst: what the worker's JIT still has to do when tasks stop
// coming in batches. For each worker (BENCH_WORKERS labels of bench/lib/workers.js, default
// "celeriac -c 16,celery-node"; "label@<dist>" runs a celeriac row on another build) in turn: the
// worker runs with --trace-opt --trace-deopt, takes a burst of AFTER_BURST tasks.add (one
// `sendTasks` from the celeriac client, the last result awaited), then AFTER_RT round trips from
// the celeriac client in blocks (AFTER_BLOCKS, default "500,500,2000"). Prints each block's p50
// and the TurboFan compiles (count and ms, as V8 reports them) and deopts the worker made
// during the blocks. `npm run bench` measures its round trips right after a 10,000-task drain:
// this shows how much of them the JIT weighs on.
//   AFTER_NAMES=1 also prints the functions compiled after the burst; AFTER_TRACE=<prefix> writes
//   each worker's whole trace to <prefix>.<label> (with the trace line the burst ended at).
//   BENCH_REDIS_PORT=16391 AFTER_BURST=10000 AFTER_REPEAT=1 node bench/profile/after-drain.js
const path = require("node:path");
const { spawn, execFile } = require("node:child_process");
const { promisify } = require("node:util");
const { ROOT, BROKER_URLS, BACKEND } = require("../lib/config");
const { withServers } = require("../lib/servers");
const { sleep, stopChild } = require("../lib/proc");
const { WORKERS } = require("../lib/workers");
const { burstScript } = require("../lib/burst");

const BURST = Number(process.env.AFTER_BURST || 10000);
const BLOCKS = (process.env.AFTER_BLOCKS || "500,500,2000").split(",").map(Number);
const REPEAT = Number(process.env.AFTER_REPEAT || 1);
const labels = (process.env.BENCH_WORKERS || "celeriac -c 16,celery-node").split(",");
const NAMES = process.env.AFTER_NAMES === "1"; // also print the functions compiled after the burst

/** Counts of the worker's --trace-opt / --trace-deopt lines, read as they come. */
function jitCounter(stream) {
  const c = { compiles: 0, compileMs: 0, deopts: 0, names: [], lines: 0 };
  let rest = "";
  stream.on("data", (d) => {
    const lines = (rest + d.toString()).split("\n");
    rest = lines.pop();
    c.lines += lines.length;
    for (const line of lines) {
      const m = /^\[completed compiling .*took ([\d.]+), ([\d.]+), ([\d.]+) ms\]/.exec(line);
      if (m) {
        c.compiles++;
        if (NAMES) c.names.push(/<JSFunction (\S*)[^>]*>/.exec(line)?.[1] ?? "?");
        c.compileMs += Number(m[1]) + Number(m[2]) + Number(m[3]);
      } else if (line.startsWith("[bailout (kind")) c.deopts++;
    }
  });
  return c;
}

withServers(["redis"], async ({ broker }) => {
  for (let r = 0; r < REPEAT; r++) {
    for (const label of labels) {
      const [name, dist] = label.split("@");
      const base = WORKERS.find((w) => w.label === name);
      if (!base) throw new Error(`no worker labelled ${name}`);
      const args = dist ? base.args.map((a) => a.replace(path.join(ROOT, "dist"), path.resolve(dist))) : base.args;
      const env = { ...process.env, BENCH_BROKER: BROKER_URLS.redis, BENCH_BACKEND: BACKEND, BENCH_IGNORE_RESULT: "0", ...(dist ? { BENCH_CELERIAC_DIST: path.resolve(dist) } : {}), ...base.env };
      await broker.flushall();
      // V8 writes its traces with C stdio: line-buffered through stdbuf, so each block counts its own
      const child = spawn("stdbuf", ["-oL", base.cmd, "--trace-opt", "--trace-deopt", ...args], { cwd: base.cwd, env, stdio: ["ignore", "pipe", "ignore"] });
      const jit = jitCounter(child.stdout);
      if (process.env.AFTER_TRACE) child.stdout.pipe(require("node:fs").createWriteStream(`${process.env.AFTER_TRACE}.${name.replace(/\W+/g, "_")}`));
      try {
        await sleep(2000);
        // not execFileSync: the worker's trace lines are read while the clients run (a full pipe would stall it)
        const exec = promisify(execFile);
        const run = async (n) => JSON.parse((await exec(process.execPath, [path.join(ROOT, "bench/roundtrip-celeriac.js"), String(n)], { cwd: ROOT, env })).stdout);
        await run(20);
        await exec(process.execPath, ["-e", burstScript(BURST, path.join(ROOT, "dist"))], { cwd: ROOT, env });
        await sleep(200);
        const namesAt = jit.names.length;
        if (process.env.AFTER_TRACE) console.log(`${label}: burst done at trace line ${jit.lines}`);
        const parts = [];
        for (const n of BLOCKS) {
          const before = { ...jit };
          const rt = await run(n);
          await sleep(200); // the lines of the block's last moments
          parts.push(`${n} RT p50 ${rt.p50_ms.toFixed(3)} ms, ${jit.compiles - before.compiles} compiles ${(jit.compileMs - before.compileMs).toFixed(0)} ms, ${jit.deopts - before.deopts} deopts`);
        }
        console.log(`${label.padEnd(24)} after ${BURST}: ${parts.join("; ")}`);
        if (NAMES) console.log(`  compiled after the burst: ${jit.names.slice(namesAt).join(" ")}`);
      } finally {
        await stopChild(child);
      }
    }
  }
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
