/**
 * The HTTP side of a worker's metrics port, run in a worker thread of its own (plain JavaScript,
 * evaluated with node:worker_threads `eval`, so that it works from the compiled package and from
 * ts-jest alike), so that it answers while the worker's event loop is blocked:
 *
 * - `GET /healthz` (liveness): 200 while the main thread's heartbeat (written every 250 ms into
 *   `state[BEAT]`, milliseconds since the epoch) is younger than `maxBlockedMs`; 503 naming how
 *   long the event loop has been blocked otherwise.
 * - `GET /readyz` (readiness): 200 when `state[READY]` is 1 (connected to the broker and the result
 *   backend, consuming); 503 with the reason the main thread wrote (`reason` messages) otherwise.
 * - `GET /metrics`: asks the main thread (`{type: "metrics", id}`), which answers with the
 *   registry's text (`{type: "metrics", id, body, contentType}`); 503 when it does not within
 *   5 s (a blocked event loop).
 *
 * `workerData`: `{ host, port, maxBlockedMs, state }` (`state`: a SharedArrayBuffer of two
 * BigInt64 slots). The thread posts `{type: "listening", port}` or `{type: "error", message}`.
 */

/** The slots of the shared state. */
export const BEAT = 0;
export const READY = 1;

export const HTTP_THREAD = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const http = require("node:http");
const { host, port, maxBlockedMs } = workerData;
const state = new BigInt64Array(workerData.state);
let reason = "starting";
let nextId = 0;
const waiting = new Map();
parentPort.on("message", (m) => {
  if (m.type === "reason") reason = m.reason;
  else if (m.type === "metrics") {
    const w = waiting.get(m.id);
    if (w) w(m);
  }
});
function reply(res, code, body, type) {
  res.writeHead(code, { "Content-Type": type || "text/plain; charset=utf-8", "Cache-Control": "no-store" });
  res.end(body);
}
function blockedMs() {
  return Date.now() - Number(Atomics.load(state, ${BEAT}));
}
const server = http.createServer((req, res) => {
  const path = (req.url || "/").split("?")[0];
  if (req.method !== "GET" && req.method !== "HEAD") return reply(res, 405, "method not allowed\n");
  if (path === "/healthz") {
    const blocked = blockedMs();
    if (blocked > maxBlockedMs) return reply(res, 503, "unhealthy: the event loop has been blocked for " + (blocked / 1000).toFixed(1) + " s\n");
    return reply(res, 200, "ok\n");
  }
  if (path === "/readyz") {
    if (Atomics.load(state, ${READY}) === 1n) return reply(res, 200, "ready\n");
    return reply(res, 503, "not ready: " + reason + "\n");
  }
  if (path === "/metrics") {
    const id = nextId++;
    const timer = setTimeout(() => {
      waiting.delete(id);
      reply(res, 503, "metrics unavailable: the worker did not answer within 5 s (event loop blocked)\n");
    }, 5000);
    waiting.set(id, (m) => {
      clearTimeout(timer);
      waiting.delete(id);
      if (m.error) reply(res, 500, "metrics failed: " + m.error + "\n");
      else reply(res, 200, m.body, m.contentType);
    });
    parentPort.postMessage({ type: "metrics", id });
    return;
  }
  reply(res, 404, "not found: /metrics, /healthz, /readyz\n");
});
server.on("error", (err) => parentPort.postMessage({ type: "error", message: err.message }));
server.listen(port, host, () => parentPort.postMessage({ type: "listening", port: server.address().port }));
`;
