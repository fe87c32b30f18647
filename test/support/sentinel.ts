/**
 * A Redis Sentinel group of a test file's own, started natively on loopback: a master, one
 * replica and three sentinels (Debian's `redis-server --sentinel`), with passwords on the Redis
 * servers and on the sentinels. Ports follow the private Redis's (CELERIAC_TEST_REDIS_PORT, default
 * 16379): master +1, replica +2, sentinels +10000, +10001, +10002.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { waitFor } from "./wait";

/** The name the sentinels monitor the master under. */
export const MASTER_NAME = "celeriac-ha";
/** requirepass / masterauth of the master and the replica. */
export const MASTER_PASSWORD = "master-s3cret-pw";
/** requirepass of the sentinels (sentinel_kwargs password). */
export const SENTINEL_PASSWORD = "sentinel-s3cret-pw";

export interface SentinelGroup {
  masterPort: number;
  replicaPort: number;
  sentinelPorts: number[];
  /** kombu's URL list of the three sentinels, the master's password in the first, database `db`. */
  url(db: number): string;
  /** Transport options with kombu's names in camelCase (broker_transport_options / result_backend_transport_options). */
  options: { masterName: string; sentinelKwargs: { password: string } };
  /** The same for Python (kombu's names). */
  pyOptions: { master_name: string; sentinel_kwargs: { password: string } };
  /** SIGKILL the process serving `port` (the master, say). */
  kill(port: number): void;
  /** The port the sentinels name as master now. */
  masterNow(): Promise<number>;
  /** A client of the current master (disconnect it after use). */
  client(db: number): Promise<Redis>;
  stop(): Promise<void>;
}

const BASE = Number(process.env.CELERIAC_TEST_REDIS_PORT ?? 16379);

function startServer(args: string[], what: string, procs: ChildProcess[], logs: Map<ChildProcess, string>): ChildProcess {
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const add = (d: Buffer): void => {
    log += d.toString();
    logs.set(child, log);
  };
  child.stdout?.on("data", add);
  child.stderr?.on("data", add);
  child.on("error", (err) => logs.set(child, `${what}: ${err.message} (is redis-server installed? run: bash scripts/ensure-deps.sh)`));
  procs.push(child);
  return child;
}

async function ping(port: number, password: string): Promise<boolean> {
  const r = new Redis({ port, host: "127.0.0.1", password, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  r.on("error", () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** Start the group and wait until the replica is in sync and every sentinel knows the other two and the replica. */
export async function startSentinelGroup(): Promise<SentinelGroup> {
  const masterPort = BASE + 1;
  const replicaPort = BASE + 2;
  const sentinelPorts = [BASE + 10000, BASE + 10001, BASE + 10002];
  const dir = mkdtempSync(join(tmpdir(), "celeriac-sentinel-"));
  const procs: ChildProcess[] = [];
  const logs = new Map<ChildProcess, string>();
  const byPort = new Map<number, ChildProcess>();
  const common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--requirepass", MASTER_PASSWORD, "--masterauth", MASTER_PASSWORD];
  byPort.set(masterPort, startServer(["--port", String(masterPort), ...common], "master", procs, logs));
  byPort.set(replicaPort, startServer(["--port", String(replicaPort), ...common, "--replicaof", "127.0.0.1", String(masterPort)], "replica", procs, logs));
  for (const port of sentinelPorts) {
    const conf = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        `requirepass ${SENTINEL_PASSWORD}`,
        `sentinel sentinel-pass ${SENTINEL_PASSWORD}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
        `sentinel auth-pass ${MASTER_NAME} ${MASTER_PASSWORD}`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
        `sentinel failover-timeout ${MASTER_NAME} 10000`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        "",
      ].join("\n"),
    );
    byPort.set(port, startServer([conf, "--sentinel"], `sentinel ${port}`, procs, logs));
  }
  const sentinel = (port: number): Redis => new Redis({ port, host: "127.0.0.1", password: SENTINEL_PASSWORD, maxRetriesPerRequest: 1 });
  const describe = (): string => [...logs.values()].map((l) => l.slice(-2000)).join("\n----\n");
  try {
    await waitFor(async () => (await ping(masterPort, MASTER_PASSWORD)) && (await ping(replicaPort, MASTER_PASSWORD)), 20_000, "the Redis master and replica");
    const r = new Redis({ port: replicaPort, host: "127.0.0.1", password: MASTER_PASSWORD });
    await waitFor(async () => /master_link_status:up/.test(await r.info("replication")), 20_000, "the replica in sync");
    r.disconnect();
    const sentinels = sentinelPorts.map(sentinel);
    await waitFor(
      async () => {
        for (const s of sentinels) {
          const info = (await s.call("SENTINEL", "MASTER", MASTER_NAME).catch(() => [])) as string[];
          const at = (k: string): string | undefined => info[info.indexOf(k) + 1];
          if (at("num-other-sentinels") !== "2" || at("num-slaves") !== "1") return false;
        }
        return true;
      },
      30_000,
      "three sentinels that know each other and the replica",
    );
    sentinels.forEach((s) => s.disconnect());
  } catch (err) {
    procs.forEach((p) => p.kill("SIGKILL"));
    throw new Error(`${(err as Error).message}\n${describe()}`);
  }
  const masterNow = async (): Promise<number> => {
    for (const port of sentinelPorts) {
      const s = sentinel(port);
      s.on("error", () => undefined);
      try {
        const addr = (await s.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)) as [string, string];
        return Number(addr[1]);
      } catch {
        // try the next sentinel
      } finally {
        s.disconnect();
      }
    }
    throw new Error("no sentinel answers");
  };
  return {
    masterPort,
    replicaPort,
    sentinelPorts,
    url: (db) => sentinelPorts.map((p, i) => `sentinel://${i === 0 ? `:${MASTER_PASSWORD}@` : ""}127.0.0.1:${p}/${db}`).join(";"),
    options: { masterName: MASTER_NAME, sentinelKwargs: { password: SENTINEL_PASSWORD } },
    pyOptions: { master_name: MASTER_NAME, sentinel_kwargs: { password: SENTINEL_PASSWORD } },
    kill: (port) => byPort.get(port)?.kill("SIGKILL"),
    masterNow,
    client: async (db) => new Redis({ port: await masterNow(), host: "127.0.0.1", password: MASTER_PASSWORD, db }),
    stop: async () => {
      const exits = procs
        .filter((p) => p.exitCode === null && p.signalCode === null)
        .map((p) => new Promise<void>((r) => p.once("exit", () => r())));
      procs.forEach((p) => p.kill("SIGKILL"));
      await Promise.all(exits);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
