/** The connect handshake: ConnectRequest and ConnectResponse travel without a request/reply header. */
import { Reader, Writer } from './jute.js';
import {
  readConnectRequest,
  readConnectResponse,
  writeConnectRequest,
  writeConnectResponse,
} from './records.js';
import type { ConnectRequest, ConnectResponse } from './types.js';

/** Encodes a ConnectRequest body (no length prefix); the readOnly byte only if `readOnly` is set. */
export function encodeConnectRequest(req: ConnectRequest): Buffer {
  const w = new Writer(64);
  writeConnectRequest(w, req);
  return w.finish();
}

/** Decodes a ConnectRequest frame; `readOnly` is undefined when the client did not send the byte. */
export function decodeConnectRequest(frame: Uint8Array): ConnectRequest {
  return readConnectRequest(new Reader(frame));
}

/** Encodes a ConnectResponse body; the readOnly byte only if `readOnly` is set (omit it for old clients). */
export function encodeConnectResponse(res: ConnectResponse): Buffer {
  const w = new Writer(64);
  writeConnectResponse(w, res);
  return w.finish();
}

/** Decodes a ConnectResponse frame; `readOnly` is undefined when the server did not send the byte. */
export function decodeConnectResponse(frame: Uint8Array): ConnectResponse {
  return readConnectResponse(new Reader(frame));
}
