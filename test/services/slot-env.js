/**
 * Jest setupFiles of the integration and interop projects: point this worker's test files at the
 * servers of its slot (JEST_WORKER_ID; see slots.js). Runs in the worker before each test file.
 */
const path = require("path");
const { basePorts, slotEnv } = require("./slots");

const ROOT = path.resolve(__dirname, "..", "..");
const slot = Number(process.env.JEST_WORKER_ID || 1);
Object.assign(process.env, slotEnv(basePorts(), slot, (port) => path.join(ROOT, ".tmp", `rabbitmq-${port}`)));
