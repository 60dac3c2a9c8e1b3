export { assertNever, JepsenError, type JepsenErrorKind } from './errors.js';
export * from './history.js';
export * from './linearizability.js';
