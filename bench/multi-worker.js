// `node bench/multi-worker.js N <celeriac worker args...>`: N independent `celeriac worker` processes
// on the same queue (node names w1@%h ... wN@%h), each with its own broker connection and prefetch
// window; what prefork children consuming directly would look like (bench row "celeriac 2 procs").
// BENCH_CELERIAC_DIST: the built celeriac whose CLI runs (default this checkout's dist).
// SIGTERM / SIGINT are passed on to every worker; it exits when they all have.
const { spawn } = require("node:child_process");
const path = require("node:path");

const n = Number(process.argv[2]);
const args = process.argv.slice(3);
const cli = path.join(process.env.BENCH_CELERIAC_DIST || path.resolve(__dirname, "../dist"), "cli/main.js");
const workers = Array.from({ length: n }, (_, i) =>
  spawn(process.execPath, [cli, "worker", ...args, "-n", `w${i + 1}@%h`], { stdio: ["ignore", "inherit", "inherit"] }),
);
let left = n;
for (const w of workers) w.on("exit", () => --left === 0 && process.exit(0));
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => workers.forEach((w) => w.kill(sig)));
