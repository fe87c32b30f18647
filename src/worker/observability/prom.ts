/**
 * `prom-client`, an optional peer dependency: required when a worker is given a metrics port, with
 * a clear error when it is not installed. The types are the subset celeriac calls, so that
 * celeriac's own types never name the package.
 */

/** Label values by label name. */
export type Labels = Record<string, string>;

/** A prom-client Registry. */
export interface PromRegistry {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/** A prom-client Counter. */
export interface PromCounter {
  inc(labels: Labels, value?: number): void;
}

/** A prom-client Gauge. */
export interface PromGauge {
  set(labels: Labels, value: number): void;
  reset(): void;
}

/** A prom-client Histogram. */
export interface PromHistogram {
  observe(labels: Labels, value: number): void;
}

interface MetricConfig<M> {
  name: string;
  help: string;
  labelNames: string[];
  registers: PromRegistry[];
  collect?: (this: M) => void | Promise<void>;
}

/** The parts of prom-client celeriac uses. */
export interface PromClient {
  Registry: new () => PromRegistry;
  Counter: new (config: MetricConfig<PromCounter>) => PromCounter;
  Gauge: new (config: MetricConfig<PromGauge>) => PromGauge;
  Histogram: new (config: MetricConfig<PromHistogram> & { buckets: number[] }) => PromHistogram;
  collectDefaultMetrics(config: { register: PromRegistry }): void;
}

/** prom-client, or an Error saying how to install it. */
export function loadPromClient(): PromClient {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional peer dependency, loaded when metrics are asked for
    return require("prom-client") as PromClient;
  } catch (err) {
    throw new Error(`the metrics port needs prom-client, an optional peer dependency of celeriac: npm install prom-client (${(err as Error).message.split("\n")[0]})`);
  }
}
