/** Jest globalTeardown: stops only the services that global-setup.js started in this process. */
const { execFileSync } = require("child_process");
const { PRIVATE_REDIS, PRIVATE_RABBITMQ, PRIVATE_POSTGRES, started } = require("./global-setup");

function stopAll(script, servers) {
  while (servers.length > 0) {
    const { port, dir } = servers.pop();
    execFileSync("bash", [script, "stop", String(port), dir], { stdio: "inherit" });
  }
}

function stopPostgres() {
  const pg = started().postgres;
  if (!pg) return;
  execFileSync("bash", [PRIVATE_POSTGRES, "stop", String(pg.port), pg.dir], { stdio: "inherit" });
  delete started().postgres;
}

module.exports = async function globalTeardown() {
  stopAll(PRIVATE_REDIS, started().redis);
  stopAll(PRIVATE_RABBITMQ, started().rabbitmq);
  stopPostgres();
};
