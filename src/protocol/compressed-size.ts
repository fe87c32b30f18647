/**
 * Reading the sizes that xz and zstd containers declare, without decompressing: lets decompression
 * refuse a body that would inflate past a limit before a decoder allocates anything.
 *
 * xz: every LZMA2 chunk header states its exact uncompressed size (the decoder produces exactly
 * that), so their sum is the output size. zstd: raw/RLE blocks state their size, a compressed
 * block yields at most min(window, 128 KiB); each frame's window is what the decoder allocates.
 * Format references: the .xz file format 1.1.0 (§3, §5.3.1 LZMA2) and RFC 8878 (§3.1.1).
 */

/** Thrown when the container is malformed (truncated, bad magic, unknown block type). */
export class ContainerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContainerError";
  }
}

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const XZ_CHECK_SIZES = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];
const LZMA2_FILTER = 0x21;

function need(d: Uint8Array, end: number, what: string): void {
  if (end > d.length) throw new ContainerError(`truncated ${what}`);
}

/** xz variable-length integer at `pos` → [value, next position]. */
function varint(d: Uint8Array, pos: number): [number, number] {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    need(d, pos + 1, "xz integer");
    const b = d[pos++];
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return [value, pos];
  }
  throw new ContainerError("xz integer too long");
}

/** Sum of LZMA2 chunk sizes from `pos` to the end marker → [uncompressed bytes, next position]. */
function lzma2Size(d: Uint8Array, pos: number): [number, number] {
  let total = 0;
  for (;;) {
    need(d, pos + 1, "LZMA2 chunk");
    const c = d[pos];
    if (c === 0x00) return [total, pos + 1];
    if (c === 0x01 || c === 0x02) {
      need(d, pos + 3, "LZMA2 chunk header");
      const size = ((d[pos + 1] << 8) | d[pos + 2]) + 1;
      total += size;
      pos += 3 + size;
    } else if (c >= 0x80) {
      const header = c >= 0xc0 ? 6 : 5;
      need(d, pos + header, "LZMA2 chunk header");
      total += (c & 0x1f) * 65536 + ((d[pos + 1] << 8) | d[pos + 2]) + 1;
      pos += header + ((d[pos + 3] << 8) | d[pos + 4]) + 1;
    } else {
      throw new ContainerError(`invalid LZMA2 control byte 0x${c.toString(16)}`);
    }
  }
}

/** The exact uncompressed size of an .xz file (all streams), read from its LZMA2 chunk headers. */
export function xzUncompressedSize(d: Uint8Array): number {
  let pos = 0;
  let total = 0;
  while (pos < d.length) {
    need(d, pos + 12, "xz stream header");
    if (!XZ_MAGIC.every((b, i) => d[pos + i] === b)) throw new ContainerError("not an xz stream");
    const checkSize = XZ_CHECK_SIZES[d[pos + 7] & 0x0f];
    pos += 12;
    for (;;) {
      need(d, pos + 1, "xz block");
      const start = pos;
      if (d[pos] === 0x00) break; // the index
      const headerSize = (d[pos] + 1) * 4;
      need(d, pos + headerSize, "xz block header");
      const flags = d[pos + 1];
      let p = pos + 2;
      if (flags & 0x40) p = varint(d, p)[1];
      if (flags & 0x80) p = varint(d, p)[1];
      let lastFilter = -1;
      for (let i = 0; i <= (flags & 0x03); i++) {
        const [id, p1] = varint(d, p);
        const [propsSize, p2] = varint(d, p1);
        lastFilter = id;
        p = p2 + propsSize;
      }
      if (lastFilter !== LZMA2_FILTER) throw new ContainerError("xz block whose last filter is not LZMA2");
      const [size, end] = lzma2Size(d, start + headerSize);
      total += size;
      pos = end;
      while ((pos - start) % 4) pos++;
      pos += checkSize;
    }
    // Index: indicator, record count, records, padding, CRC32; then the 12-byte stream footer.
    const indexStart = pos;
    let [count, p] = varint(d, pos + 1);
    for (; count > 0; count--) p = varint(d, varint(d, p)[1])[1];
    while ((p - indexStart) % 4) p++;
    pos = p + 4 + 12;
    need(d, pos, "xz stream footer");
    while (pos < d.length && d[pos] === 0) pos++; // stream padding
  }
  return total;
}

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_BLOCK_MAX = 128 * 1024;

/** What the zstd frames in a body declare. */
export interface ZstdSizes {
  /** Upper bound of the decompressed size (exact for raw/RLE blocks). */
  maxOutput: number;
  /** Largest window a frame asks the decoder to allocate. */
  maxWindow: number;
}

/** Walks every zstd frame (and skippable frame) of a body, reading block headers only. */
export function zstdSizes(d: Uint8Array): ZstdSizes {
  let pos = 0;
  let maxOutput = 0;
  let maxWindow = 0;
  while (pos < d.length) {
    need(d, pos + 8, "zstd frame");
    const magic = (d[pos] | (d[pos + 1] << 8) | (d[pos + 2] << 16) | (d[pos + 3] << 24)) >>> 0;
    if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
      pos += 8 + ((d[pos + 4] | (d[pos + 5] << 8) | (d[pos + 6] << 16) | (d[pos + 7] << 24)) >>> 0);
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw new ContainerError("not a zstd frame");
    const fhd = d[pos + 4];
    const singleSegment = (fhd >> 5) & 1;
    const fcsFlag = fhd >> 6;
    let p = pos + 5;
    let window = 0;
    if (!singleSegment) {
      const wd = d[p++];
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    p += [0, 1, 2, 4][fhd & 3];
    const fcsSize = fcsFlag === 0 ? singleSegment : [0, 2, 4, 8][fcsFlag];
    need(d, p + fcsSize, "zstd frame header");
    let fcs = 0;
    for (let i = 0; i < fcsSize; i++) fcs += d[p + i] * 2 ** (8 * i);
    if (fcsSize === 2) fcs += 256;
    p += fcsSize;
    if (singleSegment) window = fcs;
    maxWindow = Math.max(maxWindow, window);
    const blockMax = Math.min(window, ZSTD_BLOCK_MAX);
    for (;;) {
      need(d, p + 3, "zstd block header");
      const h = d[p] | (d[p + 1] << 8) | (d[p + 2] << 16);
      const type = (h >> 1) & 3;
      const size = h >>> 3;
      p += 3;
      if (type === 3) throw new ContainerError("reserved zstd block type");
      maxOutput += type === 2 ? blockMax : size; // raw and RLE blocks hold `size` bytes; compressed ones at most a block
      p += type === 1 ? 1 : size; // an RLE block stores its one byte
      if (h & 1) break;
    }
    pos = p + ((fhd >> 2) & 1 ? 4 : 0);
  }
  return { maxOutput, maxWindow };
}
