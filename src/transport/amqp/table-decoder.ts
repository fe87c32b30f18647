/**
 * A field-table decoder for amqplib that also reads py-amqp's `L` tag (docs/protocol.md §6.3, A6).
 *
 * py-amqp writes Python ints outside signed 32-bit with tag `L` (signed 64-bit). amqplib 0.10
 * does not know `L` and throws "Unexpected type tag L" while parsing the content header — the
 * whole connection fails, and after a reconnect the same message fails it again. We install our
 * own decoder as amqplib's `codec.decodeFields` BEFORE amqplib's protocol definitions load (they
 * capture the function once); `installTableDecoder()` must therefore run before the first
 * `require("amqplib")` of the process (src/connections.ts calls it when celeriac loads, connection.ts
 * again before importing amqplib). When amqplib was loaded earlier by someone else the install is
 * skipped and `tableDecoderInstalled()` is false.
 *
 * Output shapes are amqplib's (timestamps {"!": "timestamp"}, decimals {"!": "decimal"}, `x` as
 * Buffer), except: `L` is read, and 64-bit integers beyond ±2^53 come out as bigint (exact).
 */

/** Decode one AMQP field table (the bytes after its 32-bit length). */
export function decodeFieldTableBytes(slice: Buffer): { [key: string]: unknown } {
  const out: { [key: string]: unknown } = {};
  let offset = 0;
  const read = (): unknown => {
    const tag = String.fromCharCode(slice[offset]);
    offset += 1;
    let len: number;
    let v: unknown;
    switch (tag) {
      case "t":
        v = slice[offset] !== 0;
        offset += 1;
        return v;
      case "b":
        v = slice.readInt8(offset);
        offset += 1;
        return v;
      case "B":
        v = slice.readUInt8(offset);
        offset += 1;
        return v;
      case "s":
        v = slice.readInt16BE(offset);
        offset += 2;
        return v;
      case "u":
        v = slice.readUInt16BE(offset);
        offset += 2;
        return v;
      case "I":
        v = slice.readInt32BE(offset);
        offset += 4;
        return v;
      case "i":
        v = slice.readUInt32BE(offset);
        offset += 4;
        return v;
      case "l":
      case "L": {
        const big = slice.readBigInt64BE(offset);
        offset += 8;
        return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
      }
      case "f":
        v = slice.readFloatBE(offset);
        offset += 4;
        return v;
      case "d":
        v = slice.readDoubleBE(offset);
        offset += 8;
        return v;
      case "D": {
        const places = slice[offset];
        const digits = slice.readUInt32BE(offset + 1);
        offset += 5;
        return { "!": "decimal", value: { places, digits } };
      }
      case "T": {
        const secs = slice.readBigUInt64BE(offset);
        offset += 8;
        return { "!": "timestamp", value: Number(secs) };
      }
      case "S":
        len = slice.readUInt32BE(offset);
        offset += 4;
        v = slice.toString("utf8", offset, offset + len);
        offset += len;
        return v;
      case "x":
        len = slice.readUInt32BE(offset);
        offset += 4;
        v = Buffer.from(slice.subarray(offset, offset + len));
        offset += len;
        return v;
      case "F":
        len = slice.readUInt32BE(offset);
        offset += 4;
        v = decodeFieldTableBytes(slice.subarray(offset, offset + len));
        offset += len;
        return v;
      case "A": {
        len = slice.readUInt32BE(offset);
        offset += 4;
        const end = offset + len;
        const items: unknown[] = [];
        while (offset < end) items.push(read());
        return items;
      }
      case "V":
        return null;
      default:
        throw new TypeError(`Unexpected type tag "${tag}" in an AMQP field table`);
    }
  };
  while (offset < slice.length) {
    const klen = slice.readUInt8(offset);
    offset += 1;
    const key = slice.toString("utf8", offset, offset + klen);
    offset += klen;
    out[key] = read();
  }
  return out;
}

let installed: boolean | null = null;

/** Replace amqplib's table decoder (once per process). Returns whether ours is in effect. */
export function installTableDecoder(): boolean {
  if (installed !== null) return installed;
  let defsPath: string;
  try {
    defsPath = require.resolve("amqplib/lib/defs");
  } catch {
    installed = false;
    return installed;
  }
  if (require.cache[defsPath]) {
    installed = false; // amqplib's definitions already captured the stock decoder
    return installed;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- amqplib's internal module, patched in place (it has no typings to import)
  const codec = require("amqplib/lib/codec") as { decodeFields: (b: Buffer) => unknown };
  codec.decodeFields = decodeFieldTableBytes;
  installed = true;
  return installed;
}

export function tableDecoderInstalled(): boolean {
  return installed === true;
}
