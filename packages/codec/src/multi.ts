/** The framing shared by multi and multiRead bodies, requests and replies alike (internal). */
import { type OpCodeName, opCodeName } from './constants.js';
import { CodecError } from './errors.js';
import type { Reader, Writer } from './jute.js';
import { MULTI_END, readMultiHeader, writeMultiHeader } from './records.js';
import type { MultiHeader } from './types.js';

/** Writes each item after its MultiHeader, then the end marker. */
export function writeMultiItems<R>(
  w: Writer,
  items: readonly R[],
  header: (item: R) => MultiHeader,
  body: (w: Writer, item: R) => void,
): void {
  for (const item of items) {
    writeMultiHeader(w, header(item));
    body(w, item);
  }
  writeMultiHeader(w, MULTI_END);
}

/**
 * Reads the items up to the end marker: `body` reads the item after each MultiHeader whose opcode
 * is one of `kinds`; any other opcode throws CodecError `unknown-opcode` (`what` names the item).
 */
export function readMultiItems<K extends OpCodeName, R>(
  r: Reader,
  kinds: ReadonlySet<K>,
  what: string,
  body: (r: Reader, kind: K) => R,
): R[] {
  const items: R[] = [];
  for (let h = readMultiHeader(r); !h.done; h = readMultiHeader(r)) {
    const name = opCodeName(h.type);
    if (name === undefined || !isKind(kinds, name)) {
      throw new CodecError('unknown-opcode', `opcode ${h.type} is not a ${what}`);
    }
    items.push(body(r, name));
  }
  return items;
}

function isKind<K extends OpCodeName>(kinds: ReadonlySet<K>, name: OpCodeName): name is K {
  return (kinds as ReadonlySet<OpCodeName>).has(name);
}
