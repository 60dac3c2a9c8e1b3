export { type EnsembleConfig, membersOf, parseEnsembleConfig, type ServerAddress } from './config.js';
export { assertNever, ElectionError, type ElectionErrorKind } from './errors.js';
export {
  type Decision,
  type DecisionPath,
  type ElectionConfig,
  type ElectionInput,
  type ElectionOutput,
  type ElectionTimer,
  FastLeaderElection,
  type FinalizeOutcome,
  type LogLevel,
} from './fle.js';
export {
  decisionsAgreePerRound,
  type EnsembleSpec,
  electionProtocol,
  leaderIsMaximal,
  type MemberOptions,
  oneEstablishedLeader,
  SimMember,
  settled,
} from './harness.js';
export { ElectionMember, type ElectionMemberOptions, formatLogLine } from './member.js';
export {
  type MemberConfig,
  MemberCore,
  type MemberInput,
  type MemberMessage,
  type MemberOutput,
  type MemberTimer,
  type PersistedElectionState,
} from './member-core.js';
export { NamedTimers } from './timers.js';
export {
  ELECTION_PROTOCOL_VERSION,
  ElectionTransport,
  type ElectionWireMessage,
  type TransportOptions,
  type TransportStats,
  toMemberMessage,
  toNotification,
} from './transport.js';
export {
  type Credentials,
  compareCredentials,
  type DecidedState,
  epochOf,
  hex,
  makeZxid,
  NO_LEADER,
  NO_ZXID,
  NOTIFICATION_VERSION,
  type Notification,
  ranksAbove,
  SERVER_STATES,
  type ServerState,
  type Vote,
} from './vote.js';
