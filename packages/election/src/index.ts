export { assertNever, ElectionError, type ElectionErrorKind } from './errors.js';
export {
  type Decision,
  type DecisionPath,
  type ElectionConfig,
  type ElectionInput,
  type ElectionOutput,
  type ElectionTimer,
  FastLeaderElection,
  type LogLevel,
} from './fle.js';
export {
  decisionsAgreePerRound,
  type EnsembleSpec,
  electionProtocol,
  leaderIsMaximal,
  type MemberMessage,
  type MemberOptions,
  oneEstablishedLeader,
  type PersistedElectionState,
  SimMember,
  settled,
} from './harness.js';
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
