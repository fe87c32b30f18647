/** Jest globalTeardown: stops only the services that global-setup.js started in this process. */
const { execFileSync } = require("child_process");
const { PRIVATE_REDIS, PRIVATE_RABBITMQ, started } = require("./global-setup");

function stopRedis() {
  const redis = started().redis;
  if (!redis) return;
  execFileSync("bash", [PRIVATE_REDIS, "stop", String(redis.port), redis.dir], { stdio: "inherit" });
  delete started().redis;
}

function stopRabbitmq() {
  const rabbit = started().rabbitmq;
  if (!rabbit) return;
  execFileSync("bash", [PRIVATE_RABBITMQ, "stop", String(rabbit.port), rabbit.dir], { stdio: "inherit" });
  delete started().rabbitmq;
}

module.exports = async function globalTeardown() {
  stopRedis();
  stopRabbitmq();
};
