// Taps on every net.Socket of the process, for the preloads of bench/profile: the data that
// arrives and the writes that leave, seen before the socket's own code.
const net = require("node:net");

/** What a write carries (a string, a Buffer, or writev's chunks) as latin1 text. */
const text = (d) => (typeof d === "string" ? d : Buffer.isBuffer(d) ? d.toString("latin1") : Array.isArray(d) ? d.map((x) => text(x.chunk ?? x)).join("") : String(d));

/** `onData(buffer)` for every 'data' Buffer a socket emits. */
function tapData(onData) {
  const emit = net.Socket.prototype.emit; // eslint-disable-line @typescript-eslint/unbound-method -- called with apply on the socket
  net.Socket.prototype.emit = function (event, data) {
    if (event === "data" && Buffer.isBuffer(data)) onData(data);
    return emit.apply(this, arguments);
  };
}

/** `onWrite(data)` for every write a socket makes (read it with `text`). */
function tapWrites(onWrite) {
  const writeGeneric = net.Socket.prototype._writeGeneric;
  net.Socket.prototype._writeGeneric = function (writev, data) {
    onWrite(data);
    return writeGeneric.apply(this, arguments);
  };
}

module.exports = { tapData, tapWrites, text };
