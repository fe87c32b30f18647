/** Jest globalTeardown: stops only the services that global-setup.js started in this process. */
const { execFileSync } = require("child_process");
const { PRIVATE_REDIS, PRIVATE_RABBITMQ, PRIVATE_POSTGRES, PRIVATE_MARIADB, started } = require("./global-setup");

function stopAll(script, servers) {
  while (servers.length > 0) {
    const { port, dir } = servers.pop();
    execFileSync("bash", [script, "stop", String(port), dir], { stdio: "inherit" });
  }
}

/** Stops the shared database server `key` (postgres, mariadb) if this process started it. */
function stopShared(script, key) {
  const server = started()[key];
  if (!server) return;
  execFileSync("bash", [script, "stop", String(server.port), server.dir], { stdio: "inherit" });
  delete started()[key];
}

module.exports = async function globalTeardown() {
  stopAll(PRIVATE_REDIS, started().redis);
  stopAll(PRIVATE_RABBITMQ, started().rabbitmq);
  stopShared(PRIVATE_POSTGRES, "postgres");
  stopShared(PRIVATE_MARIADB, "mariadb");
};
