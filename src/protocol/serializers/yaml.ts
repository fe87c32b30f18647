/**
 * YAML, compatible with PyYAML `safe_dump` / `safe_load` (YAML 1.1) as kombu uses them.
 *
 * Decoding uses the `yaml` package with the YAML 1.1 schema (yes/no booleans, timestamps → Date,
 * !!binary → Buffer); integers beyond ±2^53 stay exact as `bigint`. Only plain data is built, like
 * `safe_load`: a tag the YAML 1.1 schema does not know (`!!js/regexp`, `!!python/object`, any
 * `!custom`) is refused, `!!set` becomes a list, `!!omap`/`!!pairs` a mapping, every key (even
 * `__proto__`) an own property, aliases are limited to 100 (expansion bombs). Encoding writes YAML 1.1 block style; the output is valid for
 * `safe_load` but not byte-identical to PyYAML (which sorts keys).
 */
import type { ScalarTag, Tags } from "yaml";
import type { WireObject, WireValue } from "../message";
import { setOwn, UnsupportedValueError } from "./plain";

type YamlLib = typeof import("yaml");
let yamlLib: YamlLib | null = null;
/** The `yaml` package (72 modules), loaded on first use: apps that never see YAML never load it. */
function yaml(): YamlLib {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous load on first use, which `import` cannot express
  return (yamlLib ??= require("yaml") as YamlLib);
}

// PyYAML's YAML 1.1 booleans: unlike the `yaml` package's 1.1 schema, `y`/`n` stay strings.
const BOOL_TAG = "tag:yaml.org,2002:bool";
const pyTrue: ScalarTag = {
  identify: (v) => v === true,
  default: true,
  tag: BOOL_TAG,
  test: /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/,
  resolve: () => new (yaml().Scalar)(true),
};
const pyFalse: ScalarTag = {
  identify: (v) => v === false,
  default: true,
  tag: BOOL_TAG,
  test: /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/,
  resolve: () => new (yaml().Scalar)(false),
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
    const out: WireObject = {};
    for (const [k, v] of value) setOwn(out, String(k), normalize(v));
    return out;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) {
    throw new UnsupportedValueError(`YAML decoded to an unsupported ${(value).constructor?.name ?? "object"}`);
  }
  const out: WireObject = {};
  for (const k of Object.keys(value)) setOwn(out, k, normalize((value as { [k: string]: unknown })[k]));
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
    if (v !== undefined) setOwn(out, k, prepare(v));
  }
  return out;
}

export function yamlDumps(value: unknown): string {
  return yaml().stringify(prepare(value), { version: "1.1", schema: "yaml-1.1", customTags: pyYamlTags });
}

/** Decodes YAML as PyYAML's `safe_load` would, to plain data (see top). Throws on errors and unknown tags. */
export function yamlLoads(text: string): WireValue {
  const doc = yaml().parseDocument(text, {
    version: "1.1",
    schema: "yaml-1.1",
    customTags: pyYamlTags,
    intAsBigInt: true,
    uniqueKeys: false,
  });
  if (doc.errors.length) throw doc.errors[0];
  const unknownTag = doc.warnings.find((w) => w.code === "TAG_RESOLVE_FAILED");
  if (unknownTag) throw new UnsupportedValueError(`YAML body refused: ${unknownTag.message.split("\n")[0]}`);
  return normalize(doc.toJS({ mapAsMap: true, maxAliasCount: 100 }));
}
