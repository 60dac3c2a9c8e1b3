export { ZK_COUNTERS, ZK_GAUGES, ZK_SUMMARIES } from './catalog.js';
export {
  COMMANDS,
  type CommandContext,
  type CommandFields,
  type CommandSpec,
  findCommand,
  primaryNames,
  runCommand,
} from './commands.js';
export { type ApiValue, ConsoleApi, ConsoleError, type WriteRequest } from './console-api.js';
export { AdminError, type AdminErrorKind } from './errors.js';
export { type AdminServer, type AdminServerOptions, DEFAULT_METRICS_PORT, startAdminServer } from './http.js';
export { JavaDouble, type JsonValue, toZkJson } from './json.js';
export { Metrics, type MetricsOptions } from './metrics.js';
