/**
 * Every codec celeriac reads stops at the size limit: a small body that inflates far past it is
 * refused with MessageLimitError, and bodies under the limit still decode. Bombs are made by the
 * real tools (Node's zlib, Python's bz2/lzma as kombu uses them, the zstd CLI).
 */
import { execFileSync } from "node:child_process";
import * as zlib from "zlib";
import { decompress } from "../../src/protocol/compression";
import { xzUncompressedSize, zstdSizes } from "../../src/protocol/compressed-size";
import { MessageLimitError } from "../../src/protocol/limits";

const MiB = 1024 * 1024;
const INFLATED = 64 * MiB;
const LIMIT = 1 * MiB;

function python(code: string): Buffer {
  return execFileSync("/usr/bin/python3", ["-c", `import sys, bz2, lzma, zlib\n${code}`], { maxBuffer: 64 * MiB });
}

const bombs: Array<[string, () => Buffer]> = [
  ["application/x-gzip", () => zlib.deflateSync(Buffer.alloc(INFLATED))],
  ["application/x-brotli", () => zlib.brotliCompressSync(Buffer.alloc(INFLATED))],
  ["application/x-bz2", () => python(`sys.stdout.buffer.write(bz2.compress(bytes(${INFLATED})))`)],
  ["application/x-lzma", () => python(`sys.stdout.buffer.write(lzma.compress(bytes(${INFLATED})))`)],
  ["application/zstd", () => execFileSync("zstd", ["-c", "-q", "--no-check"], { input: Buffer.alloc(INFLATED), maxBuffer: 64 * MiB })],
];

describe("bounded decompression", () => {
  test.each(bombs)("a %s body inflating to 64 MiB is refused at a 1 MiB limit", (mime, make) => {
    const bomb = make();
    expect(bomb.length).toBeLessThan(LIMIT);
    const before = process.memoryUsage().arrayBuffers;
    expect(() => decompress(bomb, mime, LIMIT)).toThrow(MessageLimitError);
    // Nothing near the inflated size was allocated on the way (the whole buffer would be 64 MiB).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * MiB);
    expect(() => decompress(bomb, mime, LIMIT)).toThrow(/larger than workerMaxMessageSize \(1048576 bytes\)/);
  }, 120_000);

  test.each(bombs.map(([mime]) => mime))("a %s body under the limit decodes in full", (mime) => {
    const payload = Buffer.from("x".repeat(1000) + "y".repeat(1000));
    const body =
      mime === "application/x-gzip" ? zlib.deflateSync(payload)
      : mime === "application/x-brotli" ? zlib.brotliCompressSync(payload)
      : mime === "application/x-bz2" ? python(`sys.stdout.buffer.write(bz2.compress(b"${payload.toString()}"))`)
      : mime === "application/x-lzma" ? python(`sys.stdout.buffer.write(lzma.compress(b"${payload.toString()}"))`)
      : execFileSync("zstd", ["-c", "-q"], { input: payload });
    expect(decompress(body, mime, payload.length)).toEqual(payload);
    expect(() => decompress(body, mime, payload.length - 1)).toThrow(MessageLimitError);
  });

  test("the xz size read from LZMA2 chunk headers is the exact output size", () => {
    for (const n of [0, 1, 1000, 3 * MiB + 17]) {
      const xz = python(`sys.stdout.buffer.write(lzma.compress(bytes(range(256)) * ${Math.floor(n / 256)} + b"a" * ${n % 256}))`);
      expect(xzUncompressedSize(xz)).toBe(n);
    }
  });

  test("a zstd frame declaring a window over 8 MiB and the limit is refused before allocating it", () => {
    const body = execFileSync("zstd", ["-c", "-q", "--long=27"], { input: Buffer.alloc(200 * 1024) });
    expect(zstdSizes(body).maxOutput).toBeGreaterThanOrEqual(200 * 1024);
    expect(() => decompress(body, "application/zstd", 100 * 1024)).toThrow(MessageLimitError);
  });
});
