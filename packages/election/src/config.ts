import { ElectionError } from './errors.js';

/** One `server.N=host:quorumPort:electionPort[:participant|:observer][;clientAddress]` line. */
export interface ServerAddress {
  readonly sid: number;
  readonly host: string;
  /** Port the leader listens on for learners (Zab). */
  readonly quorumPort: number;
  /** Port for leader election connections. */
  readonly electionPort: number;
  readonly type: 'participant' | 'observer';
}

/** The parts of a zoo.cfg the election uses. */
export interface EnsembleConfig {
  readonly servers: ReadonlyMap<number, ServerAddress>;
  readonly tickTime: number;
  readonly initLimit: number;
  readonly syncLimit: number;
  readonly dataDir: string | undefined;
  /** Every key=value of the file, for keys this parser does not interpret. */
  readonly raw: ReadonlyMap<string, string>;
}

/**
 * Parses a zoo.cfg-like text. As ZooKeeper reads `server.N` lines, the first port is the quorum
 * port and the second the election port: `server.1=localhost:2880:2888` elects on 2888.
 */
export function parseEnsembleConfig(text: string): EnsembleConfig {
  const raw = new Map<string, string>();
  const servers = new Map<number, ServerAddress>();
  for (const [i, line0] of text.split(/\r?\n/).entries()) {
    const line = line0.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new ElectionError('config', `line ${i + 1}: expected key=value, got "${line}"`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    raw.set(key, value);
    const m = /^server\.(\d+)$/.exec(key);
    if (m !== null) {
      const sid = Number(m[1]);
      if (servers.has(sid)) throw new ElectionError('config', `line ${i + 1}: server.${sid} given twice`);
      servers.set(sid, parseServer(sid, value, i + 1));
    }
  }
  if (servers.size === 0) throw new ElectionError('config', 'no server.N lines');
  const int = (key: string, dflt: number): number => {
    const v = raw.get(key);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0)
      throw new ElectionError('config', `${key} must be a positive integer, got ${v}`);
    return n;
  };
  return {
    servers,
    tickTime: int('tickTime', 2000),
    initLimit: int('initLimit', 10),
    syncLimit: int('syncLimit', 5),
    dataDir: raw.get('dataDir'),
    raw,
  };
}

function parseServer(sid: number, value: string, line: number): ServerAddress {
  const [addr = ''] = value.split(';');
  const parts = addr.split(':');
  let type: ServerAddress['type'] = 'participant';
  const last = parts[parts.length - 1];
  if (last === 'participant' || last === 'observer') {
    type = last;
    parts.pop();
  }
  if (parts.length !== 3) {
    throw new ElectionError(
      'config',
      `line ${line}: server.${sid} needs host:quorumPort:electionPort, got "${value}"`,
    );
  }
  const [host = '', qp = '', ep = ''] = parts;
  const port = (s: string): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n <= 0 || n > 65535) {
      throw new ElectionError('config', `line ${line}: bad port "${s}" for server.${sid}`);
    }
    return n;
  };
  if (host === '') throw new ElectionError('config', `line ${line}: server.${sid} has no host`);
  return { sid, host, quorumPort: port(qp), electionPort: port(ep), type };
}

/** Voter and observer ids of an ensemble. */
export function membersOf(config: EnsembleConfig): { voters: number[]; observers: number[] } {
  const voters: number[] = [];
  const observers: number[] = [];
  for (const s of config.servers.values()) (s.type === 'observer' ? observers : voters).push(s.sid);
  return { voters: voters.sort((a, b) => a - b), observers: observers.sort((a, b) => a - b) };
}
