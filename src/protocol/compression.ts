/**
 * Body compression as kombu does it (docs/protocol.md §4.4). The `compression` header carries the MIME type;
 * decompression dispatches on it and also accepts the aliases.
 *
 * Libraries: zlib/gzip and brotli use node:zlib; bzip2 uses `compressjs` (pure JS, encode and
 * decode); xz uses `@napi-rs/lzma` (.xz container; prebuilt binary shipped inside the npm
 * package, wasm fallback); zstd uses node:zlib when the running Node has it (≥ 22.15 / 23.8),
 * else throws `CompressionError`.
 */
import * as zlib from "zlib";

export class CompressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CompressionError";
  }
}

interface Codec {
  mime: string;
  compress(data: Buffer): Buffer;
  decompress(data: Buffer): Buffer;
}

interface BzipLib {
  Bzip2: { compressFile(data: Buffer): ArrayLike<number>; decompressFile(data: Buffer): ArrayLike<number> };
}
interface XzLib {
  xz: { compressSync(data: Buffer): Buffer; decompressSync(data: Buffer): Buffer };
}

let bzipLib: BzipLib | null = null;
function bzip(): BzipLib {
  // Loaded lazily: compressjs is sizeable and rarely needed.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (bzipLib ??= require("compressjs") as BzipLib);
}
let xzLib: XzLib | null = null;
function xz(): XzLib {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (xzLib ??= require("@napi-rs/lzma") as XzLib);
}

type ZstdZlib = { zstdCompressSync?: (b: Buffer) => Buffer; zstdDecompressSync?: (b: Buffer) => Buffer };
const nodeZstd = zlib as unknown as ZstdZlib;

const zlibCodec: Codec = {
  mime: "application/x-gzip",
  // Python's zlib.compress: zlib stream (RFC 1950), level 6 → header 78 9c.
  compress: (d) => zlib.deflateSync(d),
  decompress: (d) => zlib.inflateSync(d),
};
const bzip2Codec: Codec = {
  mime: "application/x-bz2",
  compress: (d) => Buffer.from(bzip().Bzip2.compressFile(d) as Uint8Array),
  decompress: (d) => Buffer.from(bzip().Bzip2.decompressFile(d) as Uint8Array),
};
const xzCodec: Codec = {
  mime: "application/x-lzma",
  compress: (d) => Buffer.from(xz().xz.compressSync(d)),
  decompress: (d) => Buffer.from(xz().xz.decompressSync(d)),
};
const brotliCodec: Codec = {
  mime: "application/x-brotli",
  compress: (d) => zlib.brotliCompressSync(d),
  decompress: (d) => zlib.brotliDecompressSync(d),
};
const zstdCodec: Codec = {
  mime: "application/zstd",
  compress: (d) => {
    if (!nodeZstd.zstdCompressSync) throw new CompressionError(zstdMissing);
    return nodeZstd.zstdCompressSync(d);
  },
  // Reading works everywhere: Node's zlib when it has zstd, else the pure-JS fzstd decoder.
  decompress: (d) => (nodeZstd.zstdDecompressSync ? nodeZstd.zstdDecompressSync(d) : Buffer.from(fzstd().decompress(d))),
};
const zstdMissing = `sending zstd-compressed messages needs Node >= 22.15 (zlib.zstd*); this is Node ${process.versions.node} (reading them works)`;

type Fzstd = { decompress(d: Uint8Array): Uint8Array };
let fzstdLib: Fzstd | undefined;
function fzstd(): Fzstd {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (fzstdLib ??= require("fzstd") as Fzstd);
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

export function decompress(data: Buffer, mimeOrAlias: string): Buffer {
  const codec = codecFor(mimeOrAlias);
  try {
    return codec.decompress(data);
  } catch (err) {
    if (err instanceof CompressionError) throw err;
    throw new CompressionError(`Cannot decompress ${codec.mime} body: ${(err as Error).message}`);
  }
}
