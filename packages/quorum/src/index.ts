export { DiskAdapter } from './disk.js';
export { QuorumError, type QuorumErrorKind } from './errors.js';
export {
  type ForwardedAction,
  type LearnerSummary,
  type PeerLogLevel,
  type PeerRole,
  QuorumPeer,
  type QuorumPeerOptions,
  type ReplicatedStateMachine,
  type RoleChange,
} from './peer.js';
export {
  COMPACT_FRAME,
  decodeCompact,
  encodeCompact,
  encodeCompactFrame,
  type PeerZabMessage,
  QUORUM_CONNECTION_VERSION,
  type QuorumWireMessage,
  type SnapshotChunks,
  toWire,
} from './wire.js';
