/** The command list zkCli 3.8 prints for an unknown command, sorted as Java sorts strings. */
export const COMMAND_SYNTAX: ReadonlyArray<readonly [string, string]> = [
  [
    'addWatch',
    '[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE',
  ],
  ['addauth', 'scheme auth'],
  ['close', ''],
  ['config', '[-c] [-w] [-s]'],
  ['connect', 'host:port'],
  ['create', '[-s] [-e] [-c] [-t ttl] path [data] [acl]'],
  ['delete', '[-v version] path'],
  ['deleteall', 'path [-b batch size]'],
  ['delquota', '[-n|-b|-N|-B] path'],
  ['get', '[-s] [-w] path'],
  ['getAcl', '[-s] path'],
  ['getAllChildrenNumber', 'path'],
  ['getEphemerals', 'path'],
  ['history', ''],
  ['listquota', 'path'],
  ['ls', '[-s] [-w] [-R] path'],
  ['printwatches', 'on|off'],
  ['quit', ''],
  [
    'reconfig',
    '[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]',
  ],
  ['redo', 'cmdno'],
  ['removewatches', 'path [-c|-d|-a] [-l]'],
  ['set', '[-s] [-v version] path data'],
  ['setAcl', '[-s] [-v version] [-R] path acl'],
  ['setquota', '-n|-b|-N|-B val path'],
  ['stat', '[-w] path'],
  ['sync', 'path'],
  ['version', ''],
  ['whoami', ''],
];

export function usageText(): string {
  const lines = ['ZooKeeper -server host:port -client-configuration properties-file cmd args'];
  for (const [cmd, syntax] of COMMAND_SYNTAX) lines.push(`\t${cmd} ${syntax}`);
  return `${lines.join('\n')}\n`;
}

export function syntaxOf(cmd: string): string {
  const found = COMMAND_SYNTAX.find(([c]) => c === cmd);
  return found ? `${cmd} ${found[1]}` : cmd;
}
