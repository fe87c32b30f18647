/**
 * Body compression as kombu does it (docs/protocol.md §4.4). The `compression` header carries the MIME type;
 * decompression dispatches on it and also accepts the aliases.
 *
 * Libraries: zlib/gzip and brotli use node:zlib; bzip2 uses `compressjs` (pure JS, encode and
 * decode); xz uses `@napi-rs/lzma` (.xz container; prebuilt binary shipped inside the npm
 * package, wasm fallback); zstd uses node:zlib when the running Node has it (≥ 22.15 / 23.8),
 * else sending throws `CompressionError` and reading uses `fzstd`. compressjs, @napi-rs/lzma and
 * fzstd are optional packages (optional-package.ts): required on first use, and when one is not
 * installed the error says to install it.
 */
import * as zlib from "zlib";
import { kMaxLength } from "buffer";
import { ContainerError, xzUncompressedSize, zstdSizes } from "./compressed-size";
import { MessageLimitError, tooLarge } from "./limits";
import { requireOptional } from "./optional-package";

export class CompressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CompressionError";
  }
}

interface Codec {
  mime: string;
  compress(data: Buffer): Buffer;
  /** Decompress; never produces (nor allocates for) more than `max` bytes: throws MessageLimitError. */
  decompress(data: Buffer, max: number): Buffer;
}

/** compressjs' output stream: one byte at a time. */
interface ByteSink {
  writeByte(b: number): void;
}
interface BzipLib {
  Bzip2: { compressFile(data: Buffer): ArrayLike<number>; decompressFile(data: Buffer, out: ByteSink): unknown };
}
interface XzLib {
  xz: { compressSync(data: Buffer): Buffer; decompressSync(data: Buffer): Buffer };
}

let bzipLib: BzipLib | null = null;
function bzip(): BzipLib {
  return (bzipLib ??= requireOptional<BzipLib>("compressjs", "bzip2 compression"));
}
let xzLib: XzLib | null = null;
function xz(): XzLib {
  return (xzLib ??= requireOptional<XzLib>("@napi-rs/lzma", "lzma (xz) compression"));
}

type ZstdDecompress = (b: Buffer, options?: { maxOutputLength?: number }) => Buffer;
type ZstdZlib = { zstdCompressSync?: (b: Buffer) => Buffer; zstdDecompressSync?: ZstdDecompress };
// A cast, on purpose: a feature probe. Node ≥ 22.15 has zstd in zlib, @types/node 20 does not
// declare it (and an all-optional type shares no member with zlib's, so a plain `as` is refused).
const nodeZstd = zlib as unknown as ZstdZlib;

const zlibCodec: Codec = {
  mime: "application/x-gzip",
  // Python's zlib.compress: zlib stream (RFC 1950), level 6 → header 78 9c.
  compress: (d) => zlib.deflateSync(d),
  decompress: (d, max) => zlibBounded(() => zlib.inflateSync(d, { maxOutputLength: max }), max),
};

/** Node's zlib stops at maxOutputLength with ERR_BUFFER_TOO_LARGE: reported as the size limit. */
function zlibBounded(run: () => Buffer, max: number): Buffer {
  try {
    return run();
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw tooLarge(max, "decompressed message body");
    throw err;
  }
}

/** Collects compressjs output, refusing byte `max + 1`. */
function boundedSink(max: number): ByteSink & { result(): Buffer } {
  let buf = Buffer.allocUnsafe(Math.min(max, 64 * 1024));
  let n = 0;
  return {
    writeByte(b: number) {
      if (n >= buf.length) {
        if (n >= max) throw tooLarge(max, "decompressed message body");
        const next = Buffer.allocUnsafe(Math.min(max, buf.length * 2));
        buf.copy(next, 0, 0, n);
        buf = next;
      }
      buf[n++] = b;
    },
    result: () => buf.subarray(0, n),
  };
}
const bzip2Codec: Codec = {
  mime: "application/x-bz2",
  compress: (d) => Buffer.from(bzip().Bzip2.compressFile(d) as Uint8Array),
  decompress: (d, max) => {
    const sink = boundedSink(max);
    bzip().Bzip2.decompressFile(d, sink);
    return sink.result();
  },
};
const xzCodec: Codec = {
  mime: "application/x-lzma",
  compress: (d) => Buffer.from(xz().xz.compressSync(d)),
  // The decoder has no output limit: the LZMA2 chunk headers give the exact size first.
  decompress: (d, max) => {
    if (xzUncompressedSize(d) > max) throw tooLarge(max, "decompressed message body");
    return Buffer.from(xz().xz.decompressSync(d));
  },
};
const brotliCodec: Codec = {
  mime: "application/x-brotli",
  compress: (d) => zlib.brotliCompressSync(d),
  decompress: (d, max) => zlibBounded(() => zlib.brotliDecompressSync(d, { maxOutputLength: max }), max),
};
const zstdCodec: Codec = {
  mime: "application/zstd",
  compress: (d) => {
    if (!nodeZstd.zstdCompressSync) throw new CompressionError(zstdMissing);
    return nodeZstd.zstdCompressSync(d);
  },
  // Reading works everywhere: Node's zlib when it has zstd, else the pure-JS fzstd decoder.
  decompress: (d, max) =>
    nodeZstd.zstdDecompressSync
      ? zlibBounded(() => (nodeZstd.zstdDecompressSync as ZstdDecompress)(d, { maxOutputLength: max }), max)
      : fzstdBounded(d, max),
};

/** RFC 8878 §3.1.1.1.2: decoders should support windows up to 8 MiB; larger ones only up to the limit. */
const ZSTD_WINDOW_ALWAYS_OK = 8 * 1024 * 1024;

/** fzstd allocates each frame's window first: refuse windows over the limit, then stream with a count. */
function fzstdBounded(d: Buffer, max: number): Buffer {
  if (zstdSizes(d).maxWindow > Math.max(max, ZSTD_WINDOW_ALWAYS_OK)) throw tooLarge(max, "zstd window of the message body");
  const parts: Uint8Array[] = [];
  let n = 0;
  const stream = new (fzstd().Decompress)((chunk) => {
    n += chunk.length;
    if (n > max) throw tooLarge(max, "decompressed message body");
    parts.push(chunk.slice());
  });
  stream.push(d, true);
  return Buffer.concat(parts, n);
}
const zstdMissing = `sending zstd-compressed messages needs Node >= 22.15 (zlib.zstd*); this is Node ${process.versions.node} (reading them works)`;

type Fzstd = { Decompress: new (ondata: (chunk: Uint8Array, final: boolean) => void) => { push(d: Uint8Array, final?: boolean): void } };
let fzstdLib: Fzstd | undefined;
function fzstd(): Fzstd {
  return (fzstdLib ??= requireOptional<Fzstd>("fzstd", `zstd compression on Node ${process.versions.node} (Node >= 22.15 reads it without fzstd)`));
}

const CODECS: { readonly [aliasOrMime: string]: Codec } = {
  zlib: zlibCodec,
  gzip: zlibCodec,
  "application/x-gzip": zlibCodec,
  bzip2: bzip2Codec,
  bzip: bzip2Codec,
  bz2: bzip2Codec,
  "application/x-bz2": bzip2Codec,
  lzma: xzCodec,
  xz: xzCodec,
  "application/x-lzma": xzCodec,
  brotli: brotliCodec,
  "application/x-brotli": brotliCodec,
  zstd: zstdCodec,
  zstandard: zstdCodec,
  "application/zstd": zstdCodec,
};

function codecFor(aliasOrMime: string): Codec {
  const codec = CODECS[aliasOrMime.trim().toLowerCase()];
  if (!codec) throw new CompressionError(`Encoding ${JSON.stringify(aliasOrMime)} is not supported`);
  return codec;
}

/** The MIME type kombu puts in the `compression` header for an alias (or MIME). */
export function compressionMime(aliasOrMime: string): string {
  return codecFor(aliasOrMime).mime;
}

export function compress(data: Buffer, alias: string): { body: Buffer; mime: string } {
  const codec = codecFor(alias);
  return { body: codec.compress(data), mime: codec.mime };
}

/**
 * Decompress a body. With `maxOutput` (bytes), decompression stops there and throws
 * `MessageLimitError`: no codec inflates (or allocates) past it.
 */
export function decompress(data: Buffer, mimeOrAlias: string, maxOutput: number | null = null): Buffer {
  const codec = codecFor(mimeOrAlias);
  const max = Math.max(1, Math.min(maxOutput ?? kMaxLength, kMaxLength));
  try {
    return codec.decompress(data, max);
  } catch (err) {
    if (err instanceof CompressionError || err instanceof MessageLimitError) throw err;
    if (err instanceof ContainerError) throw new CompressionError(`Cannot decompress ${codec.mime} body: ${err.message}`);
    throw new CompressionError(`Cannot decompress ${codec.mime} body: ${(err as Error).message}`);
  }
}
