/** Jest globalTeardown: stops only the services that global-setup.js started in this process. */
const { execFileSync } = require("child_process");
const { PRIVATE_REDIS, started } = require("./global-setup");

function stopRedis() {
  const redis = started().redis;
  if (!redis) return;
  execFileSync("bash", [PRIVATE_REDIS, "stop", String(redis.port), redis.dir], { stdio: "inherit" });
  delete started().redis;
}

// RabbitMQ (next issue): stop the private broker here if setup started it.

module.exports = async function globalTeardown() {
  stopRedis();
};
