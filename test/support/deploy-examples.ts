/**
 * The worker command lines of examples/deploy/ (the systemd unit, the Dockerfile, the Kubernetes
 * manifest), read as systemd, docker and the kubelet read them, and the options of the built
 * CLI's `celeriac worker --help`.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";

const ROOT = resolve(__dirname, "../..");
export const DEPLOY_DIR = resolve(ROOT, "examples/deploy");

/** One `key=value` directive of a systemd unit (the last one wins, as systemd reads them). */
export function unitDirective(unit: string, key: string): string | undefined {
  const lines = unit.split("\n").filter((l) => l.startsWith(`${key}=`));
  return lines.at(-1)?.slice(key.length + 1);
}

/** The systemd unit: its text and the arguments after the `celeriac` executable, `%%` read as `%`. */
export function unitFile(): { text: string; args: string[] } {
  const text = readFileSync(resolve(DEPLOY_DIR, "celeriac-worker.service"), "utf8");
  const words = (unitDirective(text, "ExecStart") ?? "").split(/\s+/).filter(Boolean);
  if (!words[0]?.endsWith("/celeriac")) throw new Error(`ExecStart does not run celeriac: ${words[0]}`);
  return { text, args: words.slice(1).map((w) => w.replace(/%%/g, "%")) };
}

/** The Dockerfile: its text, ENTRYPOINT and CMD (exec form: JSON arrays). */
export function dockerfile(): { text: string; entrypoint: string[]; cmd: string[] } {
  const text = readFileSync(resolve(DEPLOY_DIR, "Dockerfile"), "utf8");
  const jsonOf = (instruction: string): string[] => {
    const line = text.split("\n").find((l) => l.startsWith(`${instruction} `));
    if (!line) throw new Error(`no ${instruction} in the Dockerfile`);
    return JSON.parse(line.slice(instruction.length + 1)) as string[];
  };
  return { text, entrypoint: jsonOf("ENTRYPOINT"), cmd: jsonOf("CMD") };
}

/** What the manifest's test reads of a Deployment. */
export interface K8sContainer {
  args: string[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: number | string } };
  readinessProbe?: { httpGet?: { path: string; port: number | string } };
  envFrom?: { secretRef?: { name: string } }[];
}

/** What the test reads of the Kubernetes Deployment. */
export interface K8sDeployment {
  kind: string;
  spec: { template: { spec: { terminationGracePeriodSeconds: number; containers: K8sContainer[] } } };
}

/** The Kubernetes Deployment of k8s-worker.yaml. */
export function k8sDeployment(): K8sDeployment {
  return parse(readFileSync(resolve(DEPLOY_DIR, "k8s-worker.yaml"), "utf8")) as K8sDeployment;
}

/** Every option (`-c`, `--time-limit`, ...) that `celeriac worker --help` of dist/ lists. */
export function workerHelpOptions(): Set<string> {
  const help = execFileSync(process.execPath, [resolve(ROOT, "dist/cli/main.js"), "worker", "--help"], { encoding: "utf8" });
  const options = new Set<string>();
  for (const line of help.split("\n")) {
    const head = /^\s+((?:-{1,2}[\w-]+(?:, )?)+)/.exec(line);
    for (const option of head?.[1].split(", ") ?? []) options.add(option.trim());
  }
  return options;
}

/** The options of a command line (words that start with `-`; negative numbers are values). */
export function optionsOf(args: string[]): string[] {
  return args.filter((a) => /^-{1,2}[a-zA-Z]/.test(a));
}

/** The value after `option` in a command line, or undefined. */
export function valueOf(args: string[], option: string): string | undefined {
  const i = args.indexOf(option);
  return i < 0 ? undefined : args[i + 1];
}
