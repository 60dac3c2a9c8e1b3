const TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** Incremental CRC-32 (the java.util.zip.CRC32 polynomial). Start with `~0`, finish with `~crc >>> 0`. */
export function crcBytes(crc: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return crc;
}

/** Feeds the low byte of each UTF-16 unit: for strings holding bytes (latin1) or ASCII text. */
export function crcLatin1(crc: number, s: string): number {
  for (let i = 0; i < s.length; i++) crc = TABLE[(crc ^ s.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return crc;
}
