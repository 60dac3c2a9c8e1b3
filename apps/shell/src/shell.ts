/** The shell's engine: zkCli 3.8's commands, history, redo and watch printing over @zkts/client. */
import {
  type ConnectionState,
  createClient,
  EventType,
  KeeperError,
  KeeperState,
  OPEN_ACL_UNSAFE,
  type Stat,
  type WatchedEvent,
  type Watcher,
  type ZooKeeperClient,
} from '@zkts/client';
import { pathProblem } from '@zkts/codec';
import { CliError, type OptionSpec, type ParsedArgs, parseOptions, tokenize } from './args.js';
import { formatAcl, formatStat, parseAcl, StatsTrack } from './format.js';
import { syntaxOf, usageText } from './usage.js';

export interface ShellOutput {
  /** Standard output; `text` ends with a newline when a line is complete. */
  out(text: string): void;
  /** Standard error. */
  err(text: string): void;
}

export interface ShellOptions {
  /** Session timeout requested, ms (zkCli's -timeout). Default 30000. */
  timeout?: number;
  /** Accept read-only servers (zkCli's -r). */
  readOnly?: boolean;
  output: ShellOutput;
}

const SHELL_ONLY = new Set(['connect', 'history', 'redo', 'printwatches', 'quit']);
const ZK_COMMANDS = new Set([
  'ls',
  'ls2',
  'create',
  'get',
  'set',
  'delete',
  'deleteall',
  'rmr',
  'stat',
  'setAcl',
  'getAcl',
  'addauth',
  'sync',
  'setquota',
  'listquota',
  'delquota',
  'getEphemerals',
  'getAllChildrenNumber',
  'whoami',
  'addWatch',
  'removewatches',
  'close',
  'config',
  'reconfig',
  'version',
]);

/** Every command name the shell accepts (for completion). */
export const COMMANDS: readonly string[] = [...SHELL_ONLY, ...ZK_COMMANDS].sort();

const QUOTA_ROOT = '/zookeeper/quota';
/** Reported by `version`. */
const SHELL_VERSION = '0.1.0';
const LIMIT_NODE = 'zookeeper_limits';
const STAT_NODE = 'zookeeper_stats';

const KEEPER_STATE_NAMES = new Map<number, string>(Object.entries(KeeperState).map(([k, v]) => [v, k]));
const EVENT_TYPE_NAMES = new Map<number, string>(Object.entries(EventType).map(([k, v]) => [v, k]));

/** KeeperException.getCodeMessage for the codes whose text is not the code's name. */
const CODE_MESSAGES: Record<string, string> = {
  OK: 'ok',
  SessionExpired: 'Session expired',
  InvalidCallback: 'Invalid callback',
  NotEmpty: 'Directory not empty',
  NoWatcher: 'No such watcher',
  Unimplemented: 'Unimplemented',
  OperationTimeout: 'OperationTimeout',
  SessionMoved: 'Session moved',
  NoChildrenForEphemerals: 'NoChildrenForEphemerals',
  EphemeralOnLocalSession: 'Ephemeral node on local session',
  ReconfigDisabled: 'Reconfig is disabled',
  SessionClosedRequireSaslAuth: 'Session closed because client failed to authenticate',
  QuotaExceeded: 'Quota has exceeded',
  Throttled: 'Op throttled due to high load',
  NotReadOnly: 'Not a read-only call',
};

/** The message of KeeperException#getMessage. */
export function keeperMessage(e: KeeperError): string {
  const text = CODE_MESSAGES[e.codeName] ?? e.codeName;
  return `KeeperErrorCode = ${text}${e.path === undefined ? '' : ` for ${e.path}`}`;
}

/** zkCli's CliWrapperException message for a failed operation. */
export function wrapperMessage(e: unknown): string {
  if (!(e instanceof KeeperError)) return e instanceof Error ? e.message : String(e);
  const p = e.path ?? '';
  switch (e.codeName) {
    case 'NoNode':
      return `Node does not exist: ${p}`;
    case 'NoChildrenForEphemerals':
      return `Ephemerals cannot have children: ${p}`;
    case 'NodeExists':
      return `Node already exists: ${p}`;
    case 'NotEmpty':
      return `Node not empty: ${p}`;
    case 'NotReadOnly':
      return `Not a read-only call: ${p}`;
    case 'InvalidACL':
      return `Acl is not valid : ${p}`;
    case 'NoAuth':
      return `Insufficient permission : ${p}`;
    case 'BadArguments':
      return `Arguments are not valid : ${p}`;
    case 'BadVersion':
      return `version No is not valid : ${p}`;
    case 'QuotaExceeded':
      return `Quota has exceeded : ${p}`;
    default:
      return keeperMessage(e);
  }
}

/** The Java client's state names, as the prompt shows them. */
export function javaStateName(state: ConnectionState): string {
  switch (state) {
    case 'connecting':
    case 'disconnected':
      return 'CONNECTING';
    case 'connected':
      return 'CONNECTED';
    case 'connectedReadOnly':
      return 'CONNECTEDREADONLY';
    case 'expired':
    case 'closed':
      return 'CLOSED';
    case 'authFailed':
      return 'AUTH_FAILED';
    default: {
      const never: never = state;
      throw new Error(`unknown state ${String(never)}`);
    }
  }
}

function stateEvent(state: ConnectionState): number | undefined {
  switch (state) {
    case 'connected':
      return KeeperState.SyncConnected;
    case 'connectedReadOnly':
      return KeeperState.ConnectedReadOnly;
    case 'disconnected':
      return KeeperState.Disconnected;
    case 'expired':
      return KeeperState.Expired;
    case 'closed':
      return KeeperState.Closed;
    case 'authFailed':
      return KeeperState.AuthFailed;
    case 'connecting':
      return undefined;
    default: {
      const never: never = state;
      throw new Error(`unknown state ${String(never)}`);
    }
  }
}

function checkPath(path: string, sequential = false): void {
  const problem = pathProblem(path, sequential);
  if (problem !== undefined) throw new CliError(problem);
}

function parseInteger(text: string): number {
  if (!/^[-+]?\d+$/.test(text)) throw new CliError(`For input string: "${text}"`);
  return Number(text);
}

/** One shell: a connection, a history, the printwatches switch. */
export class Shell {
  private readonly out: (text: string) => void;
  private readonly err: (text: string) => void;
  private readonly timeout: number;
  private readonly readOnly: boolean;
  private readonly historyLines = new Map<number, string>();
  commandCount = 0;
  printWatches = true;
  exitCode = 0;
  /** Set by `quit`: the caller should exit with `exitCode`. */
  quitRequested = false;
  host = '';
  zk: ZooKeeperClient | undefined;
  private readonly watcher: Watcher = (e) => {
    if (e.type !== EventType.None) this.printEvent(e.state, e.type, e.path);
  };

  constructor(options: ShellOptions) {
    this.out = (t) => options.output.out(t);
    this.err = (t) => options.output.err(t);
    this.timeout = options.timeout ?? 30_000;
    this.readOnly = options.readOnly ?? false;
  }

  /** The lines of the history, by command number. */
  get history(): ReadonlyMap<number, string> {
    return this.historyLines;
  }

  prompt(): string {
    const state = this.zk === undefined ? 'CLOSED' : javaStateName(this.zk.state);
    return `[zk: ${this.host}(${state}) ${this.commandCount}] `;
  }

  private printEvent(state: number, type: number, path: string | undefined): void {
    if (!this.printWatches) return;
    const s = KEEPER_STATE_NAMES.get(state) ?? String(state);
    const t = EVENT_TYPE_NAMES.get(type) ?? String(type);
    this.out(`\nWATCHER::\n\nWatchedEvent state:${s} type:${t} path:${path ?? 'null'}\n`);
  }

  /** Closes the current connection (if alive) and connects to `host`; does not wait for it. */
  async connect(host: string): Promise<void> {
    if (this.zk !== undefined && this.alive()) await this.zk.close().catch(() => undefined);
    this.host = host;
    const zk = createClient(host, { sessionTimeout: this.timeout, readOnly: this.readOnly });
    this.zk = zk;
    zk.on('state', (state) => {
      const keeperState = stateEvent(state);
      if (keeperState !== undefined) this.printEvent(keeperState, EventType.None, undefined);
    });
    zk.connect().catch(() => undefined);
  }

  /** Stops printing state changes (zkCli exits without reporting its own close). */
  silence(): void {
    this.zk?.removeAllListeners('state');
  }

  private alive(): boolean {
    const s = this.zk?.state;
    return s !== undefined && s !== 'closed' && s !== 'expired' && s !== 'authFailed';
  }

  /** Runs one typed line: blank lines are ignored, others enter the history. */
  async executeLine(line: string): Promise<void> {
    if (line === '') return;
    const tokens = tokenize(line);
    this.historyLines.set(this.commandCount, line);
    await this.processCmd(tokens);
    this.commandCount++;
  }

  /** Runs one command given as words (the non-interactive `zkts-shell cmd args` form). */
  async processCmd(tokens: string[]): Promise<void> {
    const previous = this.exitCode;
    try {
      await this.processZkCmd(tokens);
      // zkCli's quit exits with the code of the command before it.
      this.exitCode = this.quitRequested ? previous : 0;
    } catch (e) {
      if (e instanceof CliError) {
        this.exitCode = e.exitCode;
        this.err(`${e.message}\n`);
      } else {
        this.exitCode = 1;
        this.err(`${wrapperMessage(e)}\n`);
      }
    }
  }

  private async processZkCmd(tokens: string[]): Promise<void> {
    const cmd = tokens[0];
    if (cmd === undefined) {
      this.err(usageText());
      throw new CliError('No command entered');
    }
    if (!SHELL_ONLY.has(cmd) && !ZK_COMMANDS.has(cmd)) {
      this.err(usageText());
      throw new CliError(`Command not found: Command not found ${cmd}`, 127);
    }
    if (cmd === 'quit') {
      this.quitRequested = true;
      if (this.zk !== undefined && this.alive()) await this.zk.close().catch(() => undefined);
      return;
    }
    if (cmd === 'redo' && tokens.length >= 2) {
      const i = Number.parseInt(tokens[1] as string, 10);
      if (Number.isNaN(i)) throw new CliError(`For input string: "${tokens[1]}"`);
      if (this.commandCount <= i || i < 0) throw new CliError('Command index out of range');
      const again = this.historyLines.get(i) ?? '';
      const redone = tokenize(again);
      if (redone[0] === 'redo') throw new CliError('No redoing redos');
      this.historyLines.set(this.commandCount, again);
      await this.processCmd(redone);
      return;
    }
    if (cmd === 'history') {
      for (let i = this.commandCount - 10; i <= this.commandCount; ++i) {
        if (i < 0) continue;
        this.out(`${i} - ${this.historyLines.get(i) ?? 'null'}\n`);
      }
    } else if (cmd === 'printwatches') {
      if (tokens.length === 1) this.out(`printwatches is ${this.printWatches ? 'on' : 'off'}\n`);
      else this.printWatches = tokens[1] === 'on';
    } else if (cmd === 'connect') {
      await this.connect(tokens[1] ?? this.host);
    }
    const zk = this.zk;
    if (zk === undefined || !this.alive()) {
      this.out('Not connected\n');
      return;
    }
    if (SHELL_ONLY.has(cmd)) return;
    await this.runZkCommand(zk, cmd, tokens);
  }

  private parse(tokens: string[], spec: OptionSpec): ParsedArgs {
    return parseOptions(tokens, spec);
  }

  private async runZkCommand(zk: ZooKeeperClient, cmd: string, tokens: string[]): Promise<void> {
    switch (cmd) {
      case 'ls':
        return this.ls(zk, tokens, false);
      case 'ls2':
        return this.ls(zk, tokens, true);
      case 'create':
        return this.create(zk, tokens);
      case 'get':
        return this.get(zk, tokens);
      case 'set':
        return this.set(zk, tokens);
      case 'delete':
        return this.delete(zk, tokens);
      case 'deleteall':
      case 'rmr':
        return this.deleteAll(zk, cmd, tokens);
      case 'stat':
        return this.stat(zk, tokens);
      case 'setAcl':
        return this.setAcl(zk, tokens);
      case 'getAcl':
        return this.getAcl(zk, tokens);
      case 'addauth': {
        const { args } = this.parse(tokens, {});
        if (args.length < 2) throw new CliError(syntaxOf('addauth'));
        await zk.addAuth(args[1] as string, args[2] ?? '');
        return;
      }
      case 'sync': {
        const { args } = this.parse(tokens, {});
        if (args.length < 2) throw new CliError(syntaxOf('sync'));
        checkPath(args[1] as string);
        try {
          await zk.sync(args[1]);
          this.out('Sync is OK\n');
        } catch (e) {
          if (e instanceof KeeperError) this.out(`Sync has failed. rc=${e.code}\n`);
          else throw e;
        }
        return;
      }
      case 'setquota':
        return this.setQuota(zk, tokens);
      case 'listquota':
        return this.listQuota(zk, tokens);
      case 'delquota':
        return this.delQuota(zk, tokens);
      case 'getEphemerals': {
        const { args } = this.parse(tokens, {});
        if (args[1] !== undefined) checkPath(args[1]);
        const list = await zk.getEphemerals(args[1] ?? '/');
        this.out(`[${list.join(', ')}]\n`);
        return;
      }
      case 'getAllChildrenNumber': {
        const { args } = this.parse(tokens, {});
        if (args.length < 2) throw new CliError(syntaxOf('getAllChildrenNumber'));
        checkPath(args[1] as string);
        this.out(`${await zk.getAllChildrenNumber(args[1] as string)}\n`);
        return;
      }
      case 'whoami': {
        const infos = await zk.whoAmI();
        this.out('Auth scheme: User\n');
        for (const i of infos) this.out(`${i.authScheme}: ${i.user}\n`);
        return;
      }
      case 'addWatch': {
        const { args, options } = this.parse(tokens, { m: true });
        if (args.length !== 2) throw new CliError(syntaxOf('addWatch'));
        let mode: 'PERSISTENT' | 'PERSISTENT_RECURSIVE' = 'PERSISTENT_RECURSIVE';
        const m = options.get('m');
        if (m !== undefined) {
          const up = m.toUpperCase();
          if (up !== 'PERSISTENT' && up !== 'PERSISTENT_RECURSIVE') throw new CliError(syntaxOf('addWatch'));
          mode = up;
        }
        checkPath(args[1] as string);
        await zk.addWatch(args[1] as string, mode, this.watcher);
        return;
      }
      case 'removewatches': {
        const { args, options } = this.parse(tokens, { c: false, d: false, a: false, l: false });
        if (args.length < 2) throw new CliError(syntaxOf('removewatches'));
        const type = options.has('c') ? 'children' : options.has('d') ? 'data' : 'any';
        checkPath(args[1] as string);
        await zk.removeWatches(args[1] as string, type, { local: options.has('l') });
        return;
      }
      case 'close':
        await zk.close();
        return;
      case 'config':
        return this.config(zk, tokens);
      case 'version':
        this.out(`ZooKeeper CLI version: zkts-shell ${SHELL_VERSION} (ZooKeeper 3.8 compatible)\n`);
        return;
      case 'reconfig':
        throw new CliError('reconfig is not supported by zkts-shell');
      default:
        throw new CliError(`Command not found: Command not found ${cmd}`);
    }
  }

  /** Re-parses with the third word turned into -w, as zkCli keeps the old `cmd path watch` form. */
  private compat(
    tokens: string[],
    spec: OptionSpec,
    parsed: ParsedArgs,
    warning: string,
    watch = true,
  ): ParsedArgs {
    if (parsed.args.length <= 2) return parsed;
    const again = [...tokens];
    if (watch) again[2] = '-w';
    this.err(`${warning}\n`);
    return this.parse(again, spec);
  }

  private printStat(stat: Stat): void {
    this.out(`${formatStat(stat).join('\n')}\n`);
  }

  private async ls(zk: ZooKeeperClient, tokens: string[], legacy: boolean): Promise<void> {
    const spec = { '?': false, s: false, w: false, R: false };
    let parsed = this.parse(tokens, spec);
    parsed = this.compat(
      tokens,
      spec,
      parsed,
      legacy
        ? "'ls2 path [watch]' has been deprecated. Please use 'ls [-s] [-w] path' instead."
        : "'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead.",
    );
    const { args, options } = parsed;
    if (args.length < 2) throw new CliError(syntaxOf('ls'));
    const path = args[1] as string;
    checkPath(path);
    const watch = options.has('w') ? this.watcher : undefined;
    if (options.has('R')) {
      await zk.getData(path, { watch });
      this.out(`${path}\n`);
      await this.visit(zk, path, watch);
      return;
    }
    if (options.has('s') || legacy) {
      const { children, stat } = await zk.getChildren(path, { watch, withStat: true });
      this.out(`[${[...children].sort().join(', ')}]\n`);
      this.printStat(stat);
    } else {
      const children = await zk.getChildren(path, { watch });
      this.out(`[${[...children].sort().join(', ')}]\n`);
    }
  }

  private async visit(zk: ZooKeeperClient, path: string, watch: Watcher | undefined): Promise<void> {
    let children: string[];
    try {
      children = [...(await zk.getChildren(path, { watch }))].sort();
    } catch (e) {
      if (e instanceof KeeperError && e.is('NoNode')) return;
      throw e;
    }
    const prefix = path === '/' ? '/' : `${path}/`;
    for (const c of children) this.out(`${prefix}${c}\n`);
    for (const c of children) await this.visit(zk, `${prefix}${c}`, watch);
  }

  private async create(zk: ZooKeeperClient, tokens: string[]): Promise<void> {
    const { args, options } = this.parse(tokens, { e: false, s: false, c: false, t: true });
    if (args.length < 2) throw new CliError(syntaxOf('create'));
    const e = options.has('e');
    const s = options.has('s');
    const c = options.has('c');
    const t = options.get('t');
    if (c && (e || s)) {
      throw new CliError(
        '-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.',
      );
    }
    let ttl = 0;
    if (t !== undefined) {
      if (!/^[-+]?\d+$/.test(t)) throw new CliError('-t argument must be a long value');
      ttl = Number(t);
      if (e) throw new CliError('TTLs cannot be used with Ephemeral znodes');
      if (c) throw new CliError('TTLs cannot be used with Container znodes');
    }
    const mode =
      e && s
        ? 'EPHEMERAL_SEQUENTIAL'
        : e
          ? 'EPHEMERAL'
          : s
            ? t !== undefined
              ? 'PERSISTENT_SEQUENTIAL_WITH_TTL'
              : 'PERSISTENT_SEQUENTIAL'
            : c
              ? 'CONTAINER'
              : t !== undefined
                ? 'PERSISTENT_WITH_TTL'
                : 'PERSISTENT';
    if (t !== undefined && (ttl <= 0 || ttl > 0xffffffffff)) {
      throw new CliError(`ttl must be positive and cannot be larger than: ${0xffffffffff}`);
    }
    const path = args[1] as string;
    checkPath(path, s);
    const data = args[2] === undefined ? null : args[2];
    const acl = args[3] === undefined ? OPEN_ACL_UNSAFE : parseAcl(args[3], (l) => this.err(`${l}\n`));
    if (acl.length === 0) {
      this.err('KeeperErrorCode = InvalidACL\n');
      throw new CliError('Acl is not valid : null');
    }
    try {
      const created = await zk.create(path, data, t !== undefined ? { mode, acl, ttl } : { mode, acl });
      this.err(`Created ${created}\n`);
    } catch (err) {
      if (err instanceof KeeperError && err.is('InvalidACL')) this.err(`${keeperMessage(err)}\n`);
      throw err;
    }
  }

  private async get(zk: ZooKeeperClient, tokens: string[]): Promise<void> {
    const spec = { s: false, w: false, b: false, x: false };
    let parsed = this.parse(tokens, spec);
    if (parsed.args.length < 2) throw new CliError(syntaxOf('get'));
    parsed = this.compat(
      tokens,
      spec,
      parsed,
      "'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead.",
    );
    const { args, options } = parsed;
    const path = args[1] as string;
    checkPath(path);
    const { data, stat } = await zk.getData(path, { watch: options.has('w') ? this.watcher : undefined });
    // Null data (a node created or set without data) prints as "null", as zkCli's GetCommand does;
    // empty data prints as an empty line.
    const shown = data ?? Buffer.from('null');
    let text = shown.toString('utf8');
    if (options.has('b')) text = shown.toString('base64');
    if (options.has('x')) text = hexDump(shown);
    this.out(`${text}\n`);
    if (options.has('s')) this.printStat(stat);
  }

  private async set(zk: ZooKeeperClient, tokens: string[]): Promise<void> {
    const { args, options } = this.parse(tokens, { s: false, v: true, b: false });
    if (args.length < 3) throw new CliError(syntaxOf('set'));
    const path = args[1] as string;
    const data = options.has('b') ? Buffer.from(args[2] as string, 'base64') : Buffer.from(args[2] as string);
    const v = options.get('v');
    const version = v === undefined ? -1 : parseInteger(v);
    checkPath(path);
    const stat = await zk.setData(path, data, version);
    if (options.has('s')) this.printStat(stat);
  }

  private async delete(zk: ZooKeeperClient, tokens: string[]): Promise<void> {
    const spec = { v: true };
    let parsed = this.parse(tokens, spec);
    if (parsed.args.length < 2) throw new CliError(syntaxOf('delete'));
    parsed = this.compat(
      tokens,
      spec,
      parsed,
      "'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.",
      false,
    );
    const { args, options } = parsed;
    const v = options.get('v');
    const version = v === undefined ? -1 : parseInteger(v);
    checkPath(args[1] as string);
    await zk.delete(args[1] as string, version);
  }

  private async deleteAll(zk: ZooKeeperClient, cmd: string, tokens: string[]): Promise<void> {
    const { args, options } = this.parse(tokens, { b: true });
    if (args.length < 2) throw new CliError(syntaxOf(cmd === 'rmr' ? 'deleteall' : cmd));
    const b = options.get('b');
    let batch = 1000;
    if (b !== undefined) {
      if (!/^[-+]?\d+$/.test(b)) throw new CliError('-b argument must be an int value');
      batch = Number(b);
    }
    const root = args[1] as string;
    checkPath(root);
    const tree = await subtree(zk, root);
    let ok = true;
    if (batch > 0) {
      for (let end = tree.length; end > 0; end -= batch) {
        const ops = tree.slice(Math.max(0, end - batch), end).reverse();
        try {
          await zk.multi(ops.map((path) => ({ type: 'delete' as const, path })));
        } catch {
          ok = false;
        }
      }
    } else {
      for (let i = tree.length - 1; i >= 0; i--) await zk.delete(tree[i] as string);
    }
    if (!ok) this.err('Failed to delete some node(s) in the subtree!\n');
  }

  private async stat(zk: ZooKeeperClient, tokens: string[]): Promise<void> {
    const spec = { w: false };
    let parsed = this.parse(tokens, spec);
    if (parsed.args.length < 2) throw new CliError(syntaxOf('stat'));
    parsed = this.compat(
      tokens,
      spec,
      parsed,
      "'stat path [watch]' has been deprecated. Please use 'stat [-w] path' instead.",
    );
    const { args, options } = parsed;
    const path = args[1] as string;
    checkPath(path);
    const stat = await zk.exists(path, { watch: options.has('w') ? this.watcher : undefined });
    if (stat === null) throw new CliError(`Node does not exist: ${path}`);
    this.printStat(stat);
  }

  private async setAcl(zk: ZooKeeperClient, tokens: string[]): Promise<void> {
    const { args, options } = this.parse(tokens, { s: false, v: true, R: false });
    if (args.length < 3) throw new CliError(syntaxOf('setAcl'));
    const path = args[1] as string;
    const acl = parseAcl(args[2] as string, (l) => this.err(`${l}\n`));
    // The Java client refuses an empty ACL before sending, with no path in the error.
    if (acl.length === 0) throw new CliError('Acl is not valid : null');
    const v = options.get('v');
    const version = v === undefined ? -1 : parseInteger(v);
    checkPath(path);
    if (options.has('R')) {
      await zk.getData(path);
      const paths = [path];
      const walk = async (p: string): Promise<void> => {
        let children: string[];
        try {
          children = [...(await zk.getChildren(p))].sort();
        } catch (e) {
          if (e instanceof KeeperError && e.is('NoNode')) return;
          throw e;
        }
        const prefix = p === '/' ? '/' : `${p}/`;
        for (const c of children) paths.push(`${prefix}${c}`);
        for (const c of children) await walk(`${prefix}${c}`);
      };
      await walk(path);
      for (const p of paths) {
        try {
          await zk.setACL(p, acl, version);
        } catch (e) {
          if (e instanceof KeeperError) this.out(keeperMessage(e));
          else throw e;
        }
      }
      return;
    }
    const stat = await zk.setACL(path, acl, version);
    if (options.has('s')) this.printStat(stat);
  }

  private async getAcl(zk: ZooKeeperClient, tokens: string[]): Promise<void> {
    const { args, options } = this.parse(tokens, { s: false });
    if (args.length < 2) throw new CliError(syntaxOf('getAcl'));
    checkPath(args[1] as string);
    const { acl, stat } = await zk.getACL(args[1] as string);
    for (const a of acl) this.out(`${formatAcl(a).join('\n')}\n`);
    if (options.has('s')) this.printStat(stat);
  }

  private async config(zk: ZooKeeperClient, tokens: string[]): Promise<void> {
    const { options } = this.parse(tokens, { s: false, w: false, c: false });
    // The configuration node is read as getConfig reads it (no chroot is involved without one).
    const { data, stat } = await zk.getData('/zookeeper/config', {
      watch: options.has('w') ? this.watcher : undefined,
    });
    // Null data prints as "null", as zkCli's GetConfigCommand does.
    const text = data === null ? 'null' : data.toString('utf8');
    this.out(`${options.has('c') ? clientConfig(text) : text}\n`);
    if (options.has('s')) this.printStat(stat);
  }

  private async setQuota(zk: ZooKeeperClient, tokens: string[]): Promise<void> {
    const { args, options } = this.parse(tokens, { n: true, b: true, N: true, B: true });
    const given = ['n', 'b', 'N', 'B'].filter((o) => options.has(o));
    if (given.length === 0) {
      throw new CliError(
        'org.apache.commons.cli.MissingOptionException: Missing required option: [-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]',
      );
    }
    if (given.length > 1) {
      throw new CliError(
        `org.apache.commons.cli.AlreadySelectedException: The option '${given[1]}' was specified but an option from this group has already been selected: '${given[0]}'`,
      );
    }
    if (args.length < 2) throw new CliError(syntaxOf('setquota'));
    const path = args[1] as string;
    if (path.startsWith(QUOTA_ROOT)) {
      this.err(`cannot set a quota under the path: ${QUOTA_ROOT}\n`);
      return;
    }
    const quota = new StatsTrack();
    quota.set('count', -1);
    quota.set('bytes', -1);
    quota.set('countHardLimit', -1);
    quota.set('byteHardLimit', -1);
    const key: Record<string, string> = { n: 'count', b: 'bytes', N: 'countHardLimit', B: 'byteHardLimit' };
    for (const o of given) {
      const raw = options.get(o) as string;
      if (!/^[-+]?\d+$/.test(raw)) {
        this.err('NumberFormatException happens when parsing the option value\n');
        return;
      }
      const value = Number(raw);
      if ((o === 'n' || o === 'N') && value <= 0) {
        this.err('the num quota must be greater than zero\n');
        return;
      }
      if ((o === 'b' || o === 'B') && value < 0) {
        this.err('the bytes quota must be greater than or equal to zero\n');
        return;
      }
      quota.set(key[o] as string, value);
    }
    checkPath(path);
    if ((await zk.exists(path)) === null) throw new CliError(`${path} does not exist.`);
    await this.checkQuotaNesting(zk, path);
    if ((await zk.exists(QUOTA_ROOT)) === null) {
      for (const p of ['/zookeeper', QUOTA_ROOT]) await zk.create(p).catch(ignoreExists);
    }
    let quotaPath = QUOTA_ROOT;
    for (const part of path.split('/').slice(1)) {
      quotaPath = `${quotaPath}/${part}`;
      if ((await zk.exists(quotaPath)) === null) await zk.create(quotaPath).catch(ignoreExists);
    }
    const statPath = `${quotaPath}/${STAT_NODE}`;
    const limitPath = `${quotaPath}/${LIMIT_NODE}`;
    if ((await zk.exists(limitPath)) === null) {
      await zk.create(limitPath, quota.toString());
      const stats = new StatsTrack();
      stats.set('count', 0);
      stats.set('bytes', 0);
      await zk.create(statPath, stats.toString());
      const limits = StatsTrack.parse((await zk.getData(limitPath)).data?.toString() ?? '');
      const current = StatsTrack.parse((await zk.getData(statPath)).data?.toString() ?? '');
      this.warnQuota(limits, current);
    } else {
      const limits = StatsTrack.parse((await zk.getData(limitPath)).data?.toString() ?? '');
      for (const k of ['count', 'bytes', 'countHardLimit', 'byteHardLimit']) {
        if (quota.get(k) > -1) limits.set(k, quota.get(k));
      }
      const current = StatsTrack.parse((await zk.getData(statPath)).data?.toString() ?? '');
      this.warnQuota(limits, current);
      await zk.setData(limitPath, limits.toString());
    }
  }

  private warnQuota(limits: StatsTrack, current: StatsTrack): void {
    const count = current.get('count');
    const bytes = current.get('bytes');
    if (
      (limits.get('count') > -1 && limits.get('count') < count) ||
      (limits.get('countHardLimit') > -1 && limits.get('countHardLimit') < count)
    ) {
      this.out(`[Warning]: the count quota you create is less than the existing count:${count}\n`);
    }
    if (
      (limits.get('bytes') > -1 && limits.get('bytes') < bytes) ||
      (limits.get('byteHardLimit') > -1 && limits.get('byteHardLimit') < bytes)
    ) {
      this.out(`[Warning]: the bytes quota you create is less than the existing bytes:${bytes}\n`);
    }
  }

  private async checkQuotaNesting(zk: ZooKeeperClient, path: string): Promise<void> {
    const own = `${QUOTA_ROOT}${path}`;
    const below = await subtree(zk, own).catch((e: unknown) => {
      if (e instanceof KeeperError && e.is('NoNode')) return [] as string[];
      throw e;
    });
    for (const p of below) {
      const holderPath = p.slice(0, p.lastIndexOf('/'));
      if (holderPath !== own && p.endsWith(`/${LIMIT_NODE}`)) {
        const holder = holderPath.slice(QUOTA_ROOT.length);
        throw new CliError(`${path} has a child ${holder} which has a quota`);
      }
    }
    const parts = path.split('/');
    let q = QUOTA_ROOT;
    for (let i = 1; i < parts.length - 1; i++) {
      q = `${q}/${parts[i]}`;
      let children: string[];
      try {
        children = await zk.getChildren(q);
      } catch (e) {
        if (e instanceof KeeperError && e.is('NoNode')) return;
        throw e;
      }
      if (children.length === 0) return;
      if (children.includes(LIMIT_NODE)) {
        throw new CliError(`${path} has a parent ${q.slice(QUOTA_ROOT.length)} which has a quota`);
      }
    }
  }

  private async listQuota(zk: ZooKeeperClient, tokens: string[]): Promise<void> {
    const { args } = this.parse(tokens, {});
    if (args.length < 2) throw new CliError(syntaxOf('listquota'));
    const path = args[1] as string;
    const limitPath = `${QUOTA_ROOT}${path}/${LIMIT_NODE}`;
    this.err(`absolute path is ${limitPath}\n`);
    try {
      const limits = (await zk.getData(limitPath)).data?.toString() ?? '';
      const stats = (await zk.getData(`${QUOTA_ROOT}${path}/${STAT_NODE}`)).data?.toString() ?? '';
      this.out(`Output quota for ${path} ${StatsTrack.parse(limits).toString()}\n`);
      this.out(`Output stat for ${path} ${StatsTrack.parse(stats).toString()}\n`);
    } catch (e) {
      if (e instanceof KeeperError && e.is('NoNode')) this.err(`quota for ${path} does not exist.\n`);
      else throw e;
    }
  }

  private async delQuota(zk: ZooKeeperClient, tokens: string[]): Promise<void> {
    const { args, options } = this.parse(tokens, { n: false, b: false, N: false, B: false });
    if (args.length < 2) throw new CliError(syntaxOf('delquota'));
    const path = args[1] as string;
    const parent = `${QUOTA_ROOT}${path}`;
    const limitPath = `${parent}/${LIMIT_NODE}`;
    try {
      if ((await zk.exists(limitPath)) === null) {
        this.out(`Quota does not exist for ${path}\n`);
        return;
      }
      const limits = StatsTrack.parse((await zk.getData(limitPath)).data?.toString() ?? '');
      const flags = ['n', 'b', 'N', 'B'].filter((o) => options.has(o));
      if (flags.length === 0) {
        for (const c of await zk.getChildren(parent)) await zk.delete(`${parent}/${c}`);
        let p = parent;
        while (p !== QUOTA_ROOT) {
          if ((await zk.getChildren(p)).length > 0) break;
          await zk.delete(p);
          p = p.slice(0, p.lastIndexOf('/'));
        }
      } else {
        const key: Record<string, string> = {
          n: 'count',
          b: 'bytes',
          N: 'countHardLimit',
          B: 'byteHardLimit',
        };
        for (const o of flags) limits.set(key[o] as string, -1);
        await zk.setData(limitPath, limits.toString());
      }
    } catch (e) {
      if (e instanceof KeeperError && e.is('NoNode')) this.err(`quota for ${path} does not exist.\n`);
      else throw e;
    }
  }
}

/** ZooKeeper's client view of a dynamic configuration: `version host:port,host:port`. */
export function clientConfig(text: string): string {
  let version = '';
  const servers: string[] = [];
  for (const raw of text.split('\n')) {
    const eq = raw.indexOf('=');
    if (eq < 0) continue;
    const key = raw.slice(0, eq).trim();
    const value = raw.slice(eq + 1).trim();
    if (key === 'version') version = value;
    if (!key.startsWith('server.')) continue;
    const client = value.split(';')[1]?.trim();
    if (client === undefined || client === '') continue;
    const colon = client.lastIndexOf(':');
    servers.push(colon < 0 ? `0.0.0.0:${client}` : client);
  }
  return `${version} ${servers.join(',')}`;
}

function ignoreExists(e: unknown): void {
  if (!(e instanceof KeeperError && e.is('NodeExists'))) throw e;
}

/** The subtree under `root` in breadth-first order, `root` first. */
async function subtree(zk: ZooKeeperClient, root: string): Promise<string[]> {
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    const node = tree[i] as string;
    for (const c of await zk.getChildren(node)) tree.push(`${node === '/' ? '' : node}/${c}`);
  }
  return tree;
}

/** A hex dump in the boxed layout zkCli 3.8.6's `get -x` prints (16 bytes a row). */
export function hexDump(data: Buffer): string {
  if (data.length === 0) return '';
  const lines = [
    '         +-------------------------------------------------+',
    '         |  0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f |',
    '+--------+-------------------------------------------------+----------------+',
  ];
  for (let off = 0; off < data.length; off += 16) {
    const chunk = [...data.subarray(off, off + 16)];
    const hexes = chunk.map((b) => ` ${b.toString(16).padStart(2, '0')}`).join('');
    const text = chunk.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`|${off.toString(16).padStart(8, '0')}|${hexes.padEnd(48)} |${text.padEnd(16)}|`);
  }
  lines.push('+--------+-------------------------------------------------+----------------+');
  return lines.join('\n');
}

export type { WatchedEvent };
