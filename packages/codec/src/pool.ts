/**
 * `size` uninitialized bytes from Node's buffer pool, as a plain Uint8Array. Small allocations off
 * the pool cost far less than a fresh ArrayBuffer each (the write path makes several per request);
 * the bytes may share their ArrayBuffer with others, so view them with their byteOffset.
 */
export function pooledBytes(size: number): Uint8Array {
  const b = Buffer.allocUnsafe(size);
  return new Uint8Array(b.buffer, b.byteOffset, size);
}
