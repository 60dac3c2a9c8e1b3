export {
  type AdminServerConfig,
  ALL_FOUR_LETTER_WORDS,
  type ConfigWarning,
  negotiateSessionTimeout,
  type ParsedConfig,
  type PeerRole,
  parseConfig,
  parseServerLine,
  type QuorumServerSpec,
  readMyId,
  type ServerConfig,
} from './config.js';
export { configFromEnvironment, type EnvironmentConfig, hasZooEnvironment } from './environment.js';
export { ServerError, type ServerErrorKind } from './errors.js';
export {
  answerFourLetterWord,
  type ConnectionInfo,
  type FourLetterSource,
  javaDate,
  type ServerMode,
  ZKTS_VERSION,
} from './four-letter.js';
export { type ServerLogger, ZkServer, type ZkServerOptions } from './server.js';
export { checkPassword, sessionPassword } from './sessions.js';
