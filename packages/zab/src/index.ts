export { isQuorum } from './config.js';
export { ZabError, type ZabErrorKind } from './errors.js';
export { type LeaderPhase, type LearnerPhase, type LearnerSessionView, ZabLeader } from './leader.js';
export { type LearnerConfig, type LearnerState, ZabFollower, ZabLearner, ZabObserver } from './learner.js';
export {
  counterOf,
  type DiskOp,
  epochOf,
  hexZxid,
  makeZxid,
  type StopReason,
  type Txn,
  type UnsafeVariants,
  type ZabConfig,
  type ZabDiskState,
  type ZabInput,
  type ZabMessage,
  type ZabMessageType,
  type ZabOutput,
  type Zxid,
} from './types.js';
