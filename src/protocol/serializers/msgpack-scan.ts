/**
 * A structural pass over a msgpack document before it is decoded: measures nesting without
 * recursion and refuses extension types other than the timestamp (-1), which is the only one
 * Python's msgpack (as kombu uses it) turns into a value; msgpackr's own extensions (RegExp, Set,
 * Error, typed arrays, records, structured-clone references) never reach a handler.
 */
import { tooDeep } from "../limits";
import { UnsupportedValueError } from "./plain";

const TIMESTAMP_EXT = 0xff; // -1 as a byte

function fail(what: string): never {
  throw new UnsupportedValueError(`msgpack body is malformed: ${what}`);
}

/** Throws unless `d` is exactly one msgpack value nested at most `maxDepth` deep, with only timestamp extensions. */
export function scanMsgpack(d: Uint8Array, maxDepth: number | null): void {
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  // Items still to read in each open array/map (a map counts keys and values).
  const open: number[] = [];
  let pos = 0;
  const uint = (n: 1 | 2 | 4): number => {
    if (pos + n > d.length) fail("truncated length");
    const v = n === 1 ? d[pos] : n === 2 ? view.getUint16(pos) : view.getUint32(pos);
    pos += n;
    return v;
  };
  const skip = (n: number): void => {
    if (pos + n > d.length) fail("truncated value");
    pos += n;
  };
  const ext = (len: number): void => {
    if (pos + 1 > d.length) fail("truncated extension");
    const type = d[pos++];
    if (type !== TIMESTAMP_EXT) {
      throw new UnsupportedValueError(`msgpack extension type ${type > 127 ? type - 256 : type} is not supported (only the timestamp, -1)`);
    }
    skip(len);
  };
  let first = true;
  while (first || open.length) {
    first = false;
    if (pos >= d.length) fail("truncated document");
    const t = d[pos++];
    let container = -1;
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) {
      /* fixint, nil, bool */
    } else if (t <= 0x8f) container = (t & 0x0f) * 2;
    else if (t <= 0x9f) container = t & 0x0f;
    else if (t <= 0xbf) skip(t & 0x1f);
    else if (t === 0xc4 || t === 0xd9) skip(uint(1));
    else if (t === 0xc5 || t === 0xda) skip(uint(2));
    else if (t === 0xc6 || t === 0xdb) skip(uint(4));
    else if (t === 0xc7) ext(uint(1));
    else if (t === 0xc8) ext(uint(2));
    else if (t === 0xc9) ext(uint(4));
    else if (t === 0xca) skip(4);
    else if (t === 0xcb) skip(8);
    else if (t >= 0xcc && t <= 0xd3) skip(1 << (t & 0x03));
    else if (t >= 0xd4 && t <= 0xd8) ext(1 << (t - 0xd4));
    else if (t === 0xdc) container = uint(2);
    else if (t === 0xdd) container = uint(4);
    else if (t === 0xde) container = uint(2) * 2;
    else if (t === 0xdf) container = uint(4) * 2;
    else fail(`byte 0x${t.toString(16)}`);
    if (open.length) open[open.length - 1]--;
    if (container > 0) {
      if (maxDepth !== null && open.length + 1 > maxDepth) throw tooDeep(maxDepth);
      if (container > d.length - pos) fail("container longer than the body");
      open.push(container);
    } else if (container === 0 && maxDepth !== null && open.length + 1 > maxDepth) {
      throw tooDeep(maxDepth);
    }
    while (open.length && open[open.length - 1] === 0) open.pop();
  }
  if (pos !== d.length) fail("extra data after the document");
}
