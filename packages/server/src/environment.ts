/**
 * The official ZooKeeper Docker image's `ZOO_*` environment variables, turned into zoo.cfg text the
 * way its entrypoint writes zoo.cfg, so a container set-up that ran ZooKeeper runs zkts unchanged.
 */

export interface EnvironmentConfig {
  /** zoo.cfg text. */
  text: string;
  /** `ZOO_MY_ID`, written to `myid` in dataDir when that file does not exist. */
  myId: number | undefined;
  dataDir: string;
}

/** The image's defaults (its Dockerfile's ENV lines) for what is not set. */
const DEFAULTS: Record<string, string> = {
  ZOO_TICK_TIME: '2000',
  ZOO_INIT_LIMIT: '5',
  ZOO_SYNC_LIMIT: '2',
  ZOO_AUTOPURGE_PURGEINTERVAL: '0',
  ZOO_AUTOPURGE_SNAPRETAINCOUNT: '3',
  ZOO_MAX_CLIENT_CNXNS: '60',
  ZOO_STANDALONE_ENABLED: 'true',
  ZOO_ADMINSERVER_ENABLED: 'true',
};

/** True when any `ZOO_*` variable is set. */
export function hasZooEnvironment(env: NodeJS.ProcessEnv): boolean {
  return Object.keys(env).some((k) => k.startsWith('ZOO_'));
}

/**
 * zoo.cfg from `ZOO_*` variables: `ZOO_DATA_DIR`, `ZOO_DATA_LOG_DIR`, `ZOO_TICK_TIME`,
 * `ZOO_INIT_LIMIT`, `ZOO_SYNC_LIMIT`, `ZOO_AUTOPURGE_*`, `ZOO_MAX_CLIENT_CNXNS`,
 * `ZOO_STANDALONE_ENABLED`, `ZOO_ADMINSERVER_ENABLED`, `ZOO_SERVERS` (space-separated `server.N=...`
 * entries), `ZOO_4LW_COMMANDS_WHITELIST`, `ZOO_CFG_EXTRA` (space-separated `key=value` entries),
 * `ZOO_MY_ID`. `defaultDataDir` is used when `ZOO_DATA_DIR` is not set.
 */
export function configFromEnvironment(env: NodeJS.ProcessEnv, defaultDataDir: string): EnvironmentConfig {
  const get = (k: string): string | undefined => {
    const v = env[k];
    return v === undefined || v === '' ? DEFAULTS[k] : v;
  };
  const dataDir = env.ZOO_DATA_DIR || defaultDataDir;
  const lines = [
    `dataDir=${dataDir}`,
    `dataLogDir=${env.ZOO_DATA_LOG_DIR || dataDir}`,
    `tickTime=${get('ZOO_TICK_TIME')}`,
    `initLimit=${get('ZOO_INIT_LIMIT')}`,
    `syncLimit=${get('ZOO_SYNC_LIMIT')}`,
    `autopurge.snapRetainCount=${get('ZOO_AUTOPURGE_SNAPRETAINCOUNT')}`,
    `autopurge.purgeInterval=${get('ZOO_AUTOPURGE_PURGEINTERVAL')}`,
    `maxClientCnxns=${get('ZOO_MAX_CLIENT_CNXNS')}`,
    `standaloneEnabled=${get('ZOO_STANDALONE_ENABLED')}`,
    `admin.enableServer=${get('ZOO_ADMINSERVER_ENABLED')}`,
  ];
  const servers = (env.ZOO_SERVERS ?? '').split(/\s+/).filter((s) => s !== '');
  // The image's default: one server, client port 2181.
  lines.push(...(servers.length > 0 ? servers : ['server.1=localhost:2888:3888;2181']));
  if (env.ZOO_4LW_COMMANDS_WHITELIST) lines.push(`4lw.commands.whitelist=${env.ZOO_4LW_COMMANDS_WHITELIST}`);
  for (const extra of (env.ZOO_CFG_EXTRA ?? '').split(/\s+/)) if (extra !== '') lines.push(extra);
  const idText = env.ZOO_MY_ID;
  let myId: number | undefined;
  if (idText !== undefined && idText !== '') {
    myId = /^\d+$/.test(idText) ? Number(idText) : Number.NaN;
  }
  return { text: `${lines.join('\n')}\n`, myId, dataDir };
}
