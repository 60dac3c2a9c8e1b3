/**
 * CRC-32 (the java.util.zip.CRC32 polynomial), eight bytes per step ("slicing by 8": eight tables,
 * about two and a half times the speed of a table lookup per byte here). The state is the raw
 * register: start with `~0`, finish with `~crc >>> 0`.
 */
const TABLES = (() => {
  const t = Array.from({ length: 8 }, () => new Int32Array(256));
  const t0 = t[0]!;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t0[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) t[k]![n] = t0[t[k - 1]![n]! & 0xff]! ^ (t[k - 1]![n]! >>> 8);
  }
  return t;
})();
const T0 = TABLES[0]!;
const T1 = TABLES[1]!;
const T2 = TABLES[2]!;
const T3 = TABLES[3]!;
const T4 = TABLES[4]!;
const T5 = TABLES[5]!;
const T6 = TABLES[6]!;
const T7 = TABLES[7]!;

/** Continues `crc` over `bytes`. */
export function crcBytes(crc: number, bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const a = crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    crc =
      T7[a & 0xff]! ^
      T6[(a >>> 8) & 0xff]! ^
      T5[(a >>> 16) & 0xff]! ^
      T4[a >>> 24]! ^
      T3[bytes[i + 4]!]! ^
      T2[bytes[i + 5]!]! ^
      T1[bytes[i + 6]!]! ^
      T0[bytes[i + 7]!]!;
  }
  for (; i < n; i++) crc = T0[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return crc;
}

/** Continues `crc` over the low byte of each UTF-16 unit: for strings holding bytes (latin1) or ASCII. */
export function crcLatin1(crc: number, s: string): number {
  const n = s.length;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const a =
      crc ^
      ((s.charCodeAt(i) & 0xff) |
        ((s.charCodeAt(i + 1) & 0xff) << 8) |
        ((s.charCodeAt(i + 2) & 0xff) << 16) |
        ((s.charCodeAt(i + 3) & 0xff) << 24));
    crc =
      T7[a & 0xff]! ^
      T6[(a >>> 8) & 0xff]! ^
      T5[(a >>> 16) & 0xff]! ^
      T4[a >>> 24]! ^
      T3[s.charCodeAt(i + 4) & 0xff]! ^
      T2[s.charCodeAt(i + 5) & 0xff]! ^
      T1[s.charCodeAt(i + 6) & 0xff]! ^
      T0[s.charCodeAt(i + 7) & 0xff]!;
  }
  for (; i < n; i++) crc = T0[(crc ^ s.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return crc;
}
