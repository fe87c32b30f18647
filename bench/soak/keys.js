// Ledger key names, shared by the worker app, both producers (produce.py reads SOAK_KEY_PREFIX) and the tally.
//   <prefix>:<task>:sent    SET   ids whose publish the producer saw succeed
//   <prefix>:<task>:sent-at ZSET  id -> ms since the epoch when its publish returned (`<producer>` in sent-by)
//   <prefix>:<task>:sent-by HASH  id -> python | node
//   <prefix>:<task>:failed  SET   ids whose publish raised (the producer went on with a new id)
//   <prefix>:<task>:done    SET   ids a worker ran to the end of the handler
//   <prefix>:<task>:runs    HASH  id -> how many times it ran (duplicates: > 1)
//   <prefix>:count          INCR  every run of every task (sampled for recovery times)
//   <prefix>:by-instance    HASH  worker instance (name#generation) -> runs
const TASKS = [
  { name: "soak.late", queue: "soak.late", acksLate: true },
  { name: "soak.early", queue: "soak.early", acksLate: false },
];

function keys(prefix) {
  const perTask = (task, what) => `${prefix}:${task}:${what}`;
  return { perTask, count: `${prefix}:count`, byInstance: `${prefix}:by-instance` };
}

module.exports = { TASKS, keys };
