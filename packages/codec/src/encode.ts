/** Encoding into length-prefixed frames and a reused scratch Writer (internal). */
import { Writer } from './jute.js';

/** Appends a frame to `w`: a 4-byte length prefix, patched once `body` has written the rest. */
export function writeFramed(w: Writer, body: (w: Writer) => void): void {
  const start = w.length;
  w.int(0);
  body(w);
  w.patchInt(start, w.length - start - 4);
}

// Reused by `encode` (synchronous, so never shared mid-encode); dropped after a frame above 1 MiB
// so one huge frame does not pin its memory.
let scratch = new Writer(4096);

/** A fresh Buffer holding what `body` writes, with a length prefix when `framed`. */
export function encode(framed: boolean, body: (w: Writer) => void): Buffer {
  const w = scratch.reset();
  if (framed) writeFramed(w, body);
  else body(w);
  const out = w.finish();
  if (w.length > 1 << 20) scratch = new Writer(4096);
  return out;
}
