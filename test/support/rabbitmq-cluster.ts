/**
 * A three-node RabbitMQ cluster of a test file's own (scripts/private-rabbitmq-cluster.sh): AMQP
 * on the test broker's port + 1, + 2, + 3 (CELERIAC_TEST_AMQP_PORT, default 5682), Erlang
 * distribution on those + 20000, one epmd on the first + 20007; data under .tmp.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { amqpPort } from "./amqp";

const ROOT = path.resolve(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "scripts", "private-rabbitmq-cluster.sh");

export class RabbitCluster {
  readonly port = amqpPort() + 1;
  readonly dir = path.join(ROOT, ".tmp", `rabbitmq-cluster-${this.port}`);

  private script(...args: string[]): Promise<string> {
    const [cmd, ...rest] = args;
    return new Promise((resolve, reject) =>
      execFile("bash", [SCRIPT, cmd, String(this.port), this.dir, ...rest], { timeout: 240_000 }, (err, out, errOut) =>
        err ? reject(new Error(`private-rabbitmq-cluster.sh ${args.join(" ")}: ${err.message}\n${errOut}`)) : resolve(out.trim()),
      ),
    );
  }

  /** AMQP port of node `i` (0, 1, 2). */
  nodePort(i: number): number {
    return this.port + i;
  }

  /** URL of vhost "/" on node `i`. */
  url(i: number): string {
    return `amqp://guest:guest@127.0.0.1:${this.nodePort(i)}//`;
  }

  /** kombu's failover list of the nodes, in the order given. */
  urls(...order: number[]): string {
    return order.map((i) => this.url(i)).join(";");
  }

  start(): Promise<string> {
    return this.script("start");
  }

  stop(): Promise<string> {
    return this.script("stop");
  }

  /** Stop node `i` alone (rabbitmqctl stop): its clients lose their connection. */
  stopNode(i: number): Promise<string> {
    return this.script("node-stop", String(i));
  }

  /** rabbitmqctl on node `i`. */
  ctl(i: number, ...args: string[]): Promise<string> {
    return this.script("ctl", String(i), ...args);
  }
}
