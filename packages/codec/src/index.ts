export * from './constants.js';
export * from './errors.js';
export * from './quorum.js';
export type * from './types.js';
