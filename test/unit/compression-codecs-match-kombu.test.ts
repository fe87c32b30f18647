import { execFileSync } from "child_process";
import * as path from "path";
import * as zlib from "zlib";
import { compress, compressionMime, CompressionError, decompress } from "../../src/protocol/compression";
import { loadVector, messagesOf, vectorNames } from "../support/vectors";

const payload = Buffer.from('[[2, 2], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]');

describe("compression", () => {
  test.each(vectorNames().filter((n) => n.includes("-compression-")))("%s body decompresses per its header", (name) => {
    const [{ raw, decoded }] = messagesOf(loadVector(name));
    const mime = raw.headers.compression as string;
    expect(["application/x-gzip", "application/x-bz2", "application/x-lzma"]).toContain(mime);
    expect(JSON.parse(decompress(raw.body, mime).toString())).toEqual(decoded.body);
  });

  test("each alias names the MIME type kombu's compression.get_encoder gives it (kombu 5.7, interop-tests/.venv)", () => {
    const venvPython = path.resolve(__dirname, "..", "..", "interop-tests", ".venv", "bin", "python");
    const aliases = ["zlib", "gzip", "bzip2", "lzma", "xz", "brotli", "zstd"];
    const code = `import json; from kombu import compression as c; print(json.dumps({a: c.get_encoder(a)[1] for a in ${JSON.stringify(aliases)}}))`;
    const kombu = JSON.parse(execFileSync(venvPython, ["-c", code], { encoding: "utf8" })) as Record<string, string>;
    expect(Object.fromEntries(aliases.map((a) => [a, compressionMime(a)]))).toEqual(kombu);
  });

  // The table is kombu/compression.py's register(...) calls (checked against kombu by the test above).
  test.each([
    ["zlib", "application/x-gzip"],
    ["gzip", "application/x-gzip"],
    ["bzip2", "application/x-bz2"],
    ["lzma", "application/x-lzma"],
    ["xz", "application/x-lzma"],
    ["brotli", "application/x-brotli"],
  ])("%s compresses to %s and round-trips by MIME and by alias", (alias, mime) => {
    const c = compress(payload, alias);
    expect(c.mime).toBe(mime);
    expect(compressionMime(alias)).toBe(mime);
    expect(decompress(c.body, mime)).toEqual(payload);
    expect(decompress(c.body, alias)).toEqual(payload);
  });

  test("gzip alias is a zlib stream (78 9c) like Python zlib.compress", () => {
    // Node's bundled zlib picks different (equally valid) deflate blocks than CPython's system
    // zlib, so only the container format is compared, not the bytes.
    const c = compress(payload, "gzip");
    expect(c.body.subarray(0, 2)).toEqual(Buffer.from([0x78, 0x9c]));
    expect(zlib.inflateSync(c.body)).toEqual(payload);
  });

  test("bzip2 output is a BZh stream and xz output an .xz container", () => {
    expect(compress(payload, "bzip2").body.subarray(0, 3).toString()).toBe("BZh");
    expect(compress(payload, "xz").body.subarray(0, 6)).toEqual(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  });

  test("zstd from Python (backports.zstd, as kombu 5.7 uses) is read on any Node; sending needs Node's zstd", () => {
    // zstd.compress(b"hello from python zstd" * 3), made by Python 3.11 backports.zstd
    const fromPython = Buffer.from("28b52ffd2042ed0000b068656c6c6f2066726f6d20707974686f6e207a73746401004a733601", "hex");
    expect(decompress(fromPython, "application/zstd").toString()).toBe("hello from python zstd".repeat(3));
    expect(() => decompress(payload, "application/zstd")).toThrow(CompressionError);
    const hasZstd = typeof (zlib as unknown as { zstdCompressSync?: unknown }).zstdCompressSync === "function";
    if (hasZstd) {
      expect(decompress(compress(payload, "zstd").body, "application/zstd")).toEqual(payload);
    } else {
      expect(() => compress(payload, "zstd")).toThrow(/sending zstd-compressed messages needs Node >= 22\.15/);
    }
  });

  test("unknown encodings and corrupt data raise CompressionError", () => {
    expect(() => compress(payload, "snappy")).toThrow(/not supported/);
    expect(() => decompress(payload, "application/x-gzip")).toThrow(CompressionError);
  });
});
