/** Jest globalTeardown: stops only the services that global-setup.js started in this process. */
const { execFileSync } = require("child_process");
const { PRIVATE_REDIS, PRIVATE_RABBITMQ, PRIVATE_POSTGRES, started } = require("./global-setup");

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

function stopPostgres() {
  const pg = started().postgres;
  if (!pg) return;
  execFileSync("bash", [PRIVATE_POSTGRES, "stop", String(pg.port), pg.dir], { stdio: "inherit" });
  delete started().postgres;
}

module.exports = async function globalTeardown() {
  stopRedis();
  stopRabbitmq();
  stopPostgres();
};
