/**
 * The few fields of an X.509 certificate the `auth` serializer needs, read from its DER bytes:
 * issuer attribute values (in order), serial number, notAfter. A minimal DER reader (pure).
 */

interface Tlv {
  tag: number;
  /** First byte of the contents. */
  start: number;
  /** One past the last byte of the contents. */
  end: number;
}

function readTlv(der: Uint8Array, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) throw new Error("truncated DER");
  const tag = der[pos];
  let len = der[pos + 1];
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new Error("unsupported DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i];
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new Error("truncated DER");
  return { tag, start, end };
}

/** The TLVs directly inside a constructed value. */
function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = parent.start; pos < parent.end; ) {
    const t = readTlv(der, pos, parent.end);
    out.push(t);
    pos = t.end;
  }
  return out;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) throw new Error(`certificate DER: ${what} expected`);
  return t;
}

/** A directory string's value as Python's `cryptography` decodes it. */
function stringValue(der: Uint8Array, t: Tlv): string {
  const bytes = Buffer.from(der.subarray(t.start, t.end));
  switch (t.tag) {
    case 0x0c: // UTF8String
      return bytes.toString("utf8");
    case 0x1e: // BMPString: UTF-16BE
      return Buffer.from(bytes).swap16().toString("utf16le");
    case 0x1c: {
      // UniversalString: UTF-32BE
      let s = "";
      for (let i = 0; i + 4 <= bytes.length; i += 4) s += String.fromCodePoint(bytes.readUInt32BE(i));
      return s;
    }
    default: // PrintableString, IA5String, TeletexString, VisibleString, NumericString
      return bytes.toString("latin1");
  }
}

/** Two's-complement big-endian INTEGER contents as a decimal string (Python's int). */
function integerText(der: Uint8Array, t: Tlv): string {
  let n = 0n;
  for (let i = t.start; i < t.end; i++) n = (n << 8n) | BigInt(der[i]);
  const bits = BigInt((t.end - t.start) * 8);
  if (t.end > t.start && der[t.start] & 0x80) n -= 1n << bits;
  return n.toString();
}

function timeValue(der: Uint8Array, t: Tlv): Date {
  const s = Buffer.from(der.subarray(t.start, t.end)).toString("latin1");
  const m = (t.tag === UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/ : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/).exec(s);
  if (!m || (t.tag !== UTC_TIME && t.tag !== GENERALIZED_TIME)) throw new Error(`certificate DER: bad time ${JSON.stringify(s)}`);
  let year = Number(m[1]);
  if (t.tag === UTC_TIME) year += year >= 50 ? 1900 : 2000;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/** What the `auth` serializer reads from a certificate. */
export interface CertificateFields {
  /** The issuer's attribute values, in their order (Python: `[x.value for x in cert.issuer]`). */
  issuerValues: string[];
  /** The serial number in decimal. */
  serialNumber: string;
  /** notAfter. */
  notAfter: Date;
}

/** Reads issuer, serial number and notAfter from a certificate's DER bytes; throws on malformed input. */
export function certificateFields(der: Uint8Array): CertificateFields {
  const cert = expect(readTlv(der, 0, der.length), SEQUENCE, "Certificate");
  const tbs = expect(children(der, cert)[0], SEQUENCE, "TBSCertificate");
  const fields = children(der, tbs);
  let i = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  const serial = expect(fields[i++], INTEGER, "serialNumber");
  expect(fields[i++], SEQUENCE, "signature");
  const issuer = expect(fields[i++], SEQUENCE, "issuer");
  const validity = expect(fields[i++], SEQUENCE, "validity");
  const issuerValues: string[] = [];
  for (const rdn of children(der, issuer)) {
    for (const atv of children(der, rdn)) {
      const value = children(der, atv)[1];
      if (value) issuerValues.push(stringValue(der, value));
    }
  }
  const [, notAfter] = children(der, validity);
  if (!notAfter) throw new Error("certificate DER: notAfter expected");
  return { issuerValues, serialNumber: integerText(der, serial), notAfter: timeValue(der, notAfter) };
}
