export { SimError, type SimErrorKind } from './errors.js';
export { Prng } from './prng.js';
export { seedsFromEnv } from './seeds.js';
export {
  assertNever,
  type Effect,
  type FaultOptions,
  type Invariant,
  type NetworkOptions,
  type NodeId,
  type Protocol,
  type SimOptions,
  type SimStats,
  Simulation,
  type SimView,
} from './simulation.js';
