/**
 * YAML, compatible with PyYAML `safe_dump` / `safe_load` (YAML 1.1) as kombu uses them.
 *
 * Decoding uses the `yaml` package with the YAML 1.1 schema (yes/no booleans, timestamps → Date,
 * !!binary → Buffer); integers beyond ±2^53 stay exact as `bigint`. Only plain data is built (no
 * custom tags), like `safe_load`. Encoding writes YAML 1.1 block style; the output is valid for
 * `safe_load` but not byte-identical to PyYAML (which sorts keys).
 */
import YAML, { Scalar, type ScalarTag, type Tags } from "yaml";
import type { WireValue } from "../message";

// PyYAML's YAML 1.1 booleans: unlike the `yaml` package's 1.1 schema, `y`/`n` stay strings.
const BOOL_TAG = "tag:yaml.org,2002:bool";
const pyTrue: ScalarTag = {
  identify: (v) => v === true,
  default: true,
  tag: BOOL_TAG,
  test: /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/,
  resolve: () => new Scalar(true),
};
const pyFalse: ScalarTag = {
  identify: (v) => v === false,
  default: true,
  tag: BOOL_TAG,
  test: /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/,
  resolve: () => new Scalar(false),
};

function pyYamlTags(tags: Tags): Tags {
  const out = tags.filter((t) => typeof t === "string" ? t !== "bool" : t.tag !== BOOL_TAG);
  return [pyTrue, pyFalse, ...out];
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function normalize(value: unknown): WireValue {
  if (typeof value === "bigint") return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value;
  if (value === null || value === undefined) return null;
  if (typeof value !== "object") return value as WireValue;
  if (Buffer.isBuffer(value) || value instanceof Date) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(normalize);
  if (value instanceof Set) return [...value].map(normalize);
  if (value instanceof Map) {
    const out: { [k: string]: WireValue } = {};
    for (const [k, v] of value) out[String(k)] = normalize(v);
    return out;
  }
  const out: { [k: string]: WireValue } = {};
  for (const k of Object.keys(value)) out[k] = normalize((value as { [k: string]: unknown })[k]);
  return out;
}

function prepare(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Buffer.isBuffer(value) || value instanceof Date) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : prepare(v)));
  const out: { [k: string]: unknown } = {};
  for (const k of Object.keys(value)) {
    const v = (value as { [k: string]: unknown })[k];
    if (v !== undefined) out[k] = prepare(v);
  }
  return out;
}

export function yamlDumps(value: unknown): string {
  return YAML.stringify(prepare(value), { version: "1.1", schema: "yaml-1.1", customTags: pyYamlTags });
}

export function yamlLoads(text: string): WireValue {
  return normalize(YAML.parse(text, {
      version: "1.1",
      schema: "yaml-1.1",
      customTags: pyYamlTags,
      intAsBigInt: true,
      uniqueKeys: false,
    }));
}
