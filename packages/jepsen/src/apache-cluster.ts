import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  APACHE_ZK_CONF_DIR,
  APACHE_ZK_JAR,
  assertApacheZooKeeperInstalled,
  fourLetterWord,
  freePort,
} from '@zkts/testkit';
import type { Cluster } from './cluster.js';
import { JepsenError } from './errors.js';
import { type CutMode, LinkProxy, rewriteElectionAddress } from './link-proxy.js';
import { GroupProcess } from './process-group.js';

export interface EnsembleOptions {
  /** Members, ids 1..size; default 3. */
  size?: number;
  /** How a cut link behaves when `cut` is not told; default `blackhole`. */
  cutMode?: CutMode;
  /** zoo.cfg tickTime (ms); default 300. */
  tickTime?: number;
  initLimit?: number;
  syncLimit?: number;
  /** Extra zoo.cfg keys for every member. */
  config?: Record<string, string>;
  /** How long `start` waits for every member to serve; default 90 s. */
  startTimeoutMs?: number;
}

interface Ports {
  client: number;
  quorum: number;
  election: number;
}

/**
 * What `ApacheCluster` and `ZktsCluster` share: three (or `size`) members on 127.0.0.1 whose peer
 * links each go through a `LinkProxy`. Member i's zoo.cfg lists its own real quorum and election
 * ports, and for every other member j the ports of the proxies i→j; so cutting the proxies i→j and
 * j→i partitions the pair, whichever of them opens connections. A member connects back to the
 * election address a lower-id peer advertises in its first message: the election proxy i→j rewrites
 * that address to the proxy j→i's, so connections back go through the proxies too.
 */
export abstract class ProxiedEnsemble implements Cluster {
  readonly members: string[];
  protected readonly processes = new Map<string, GroupProcess>();
  protected readonly paused = new Set<string>();
  private closed = false;

  protected constructor(
    readonly root: string,
    protected readonly ports: Map<string, Ports>,
    /** Proxies by `from>to`, quorum and election. */
    protected readonly proxies: Map<string, { quorum: LinkProxy; election: LinkProxy }>,
    protected readonly options: EnsembleOptions,
  ) {
    this.members = [...ports.keys()];
  }

  /** Allocates ports and proxies and writes each member's zoo.cfg and myid; starts nothing. */
  protected static async prepare(
    prefix: string,
    options: EnsembleOptions,
  ): Promise<{
    root: string;
    ports: Map<string, Ports>;
    proxies: Map<string, { quorum: LinkProxy; election: LinkProxy }>;
  }> {
    const size = options.size ?? 3;
    const root = await mkdtemp(join(tmpdir(), prefix));
    const ids = Array.from({ length: size }, (_, i) => String(i + 1));
    const ports = new Map<string, Ports>();
    for (const id of ids)
      ports.set(id, { client: await freePort(), quorum: await freePort(), election: await freePort() });
    const proxies = new Map<string, { quorum: LinkProxy; election: LinkProxy }>();
    for (const from of ids) {
      for (const to of ids) {
        if (from === to) continue;
        const p = ports.get(to)!;
        proxies.set(`${from}>${to}`, {
          quorum: await LinkProxy.start({ targetHost: '127.0.0.1', targetPort: p.quorum }),
          election: await LinkProxy.start({ targetHost: '127.0.0.1', targetPort: p.election }),
        });
      }
    }
    // Each election proxy i→j tells j to connect back through j→i.
    for (const [link, { election }] of proxies) {
      const [from, to] = link.split('>');
      election.rewriteHead = rewriteElectionAddress(
        `127.0.0.1:${proxies.get(`${to}>${from}`)!.election.port}`,
      );
    }
    for (const id of ids) {
      const dataDir = join(root, `member-${id}`);
      await mkdir(dataDir, { recursive: true });
      await writeFile(join(dataDir, 'myid'), `${id}\n`);
      const own = ports.get(id)!;
      const cfg: Record<string, string> = {
        tickTime: String(options.tickTime ?? 300),
        initLimit: String(options.initLimit ?? 10),
        syncLimit: String(options.syncLimit ?? 5),
        dataDir,
        clientPort: String(own.client),
        clientPortAddress: '127.0.0.1',
        maxClientCnxns: '0',
        quorumListenOnAllIPs: 'false',
        reconfigEnabled: 'false',
        standaloneEnabled: 'false',
        '4lw.commands.whitelist': '*',
        'admin.enableServer': 'false',
        ...options.config,
      };
      const lines = Object.entries(cfg).map(([k, v]) => `${k}=${v}`);
      for (const other of ids) {
        if (other === id) {
          lines.push(`server.${id}=127.0.0.1:${own.quorum}:${own.election}`);
        } else {
          const px = proxies.get(`${id}>${other}`)!;
          lines.push(`server.${other}=127.0.0.1:${px.quorum.port}:${px.election.port}`);
        }
      }
      await writeFile(join(dataDir, 'zoo.cfg'), `${lines.join('\n')}\n`);
    }
    return { root, ports, proxies };
  }

  protected dataDir(id: string): string {
    return join(this.root, `member-${id}`);
  }

  protected configPath(id: string): string {
    return join(this.dataDir(id), 'zoo.cfg');
  }

  /** Spawns member `id`'s process. */
  protected abstract spawnMember(id: string): GroupProcess;

  /** Starts every member and waits until each serves. */
  protected async startAll(): Promise<void> {
    for (const id of this.members) this.processes.set(id, this.spawnMember(id));
    try {
      await Promise.all(
        this.members.map((id) => this.waitServing(id, this.options.startTimeoutMs ?? 90_000)),
      );
    } catch (e) {
      const outputs = this.members
        .map((id) => `--- member ${id} ---\n${this.output(id).slice(-4000)}`)
        .join('\n');
      await this.close();
      throw new JepsenError('cluster', `${(e as Error).message}\n${outputs}`);
    }
  }

  connectString(id: string): string {
    return `127.0.0.1:${this.port(id).client}`;
  }

  /** All members, for a client that may use any. */
  connectStringAll(): string {
    return this.members.map((id) => this.connectString(id)).join(',');
  }

  private port(id: string): Ports {
    const p = this.ports.get(id);
    if (p === undefined) throw new JepsenError('cluster', `no member ${id}`);
    return p;
  }

  private proc(id: string): GroupProcess {
    const p = this.processes.get(id);
    if (p === undefined) throw new JepsenError('cluster', `no member ${id}`);
    return p;
  }

  async kill(id: string): Promise<void> {
    this.paused.delete(id);
    await this.proc(id).kill();
  }

  async restart(id: string): Promise<void> {
    const p = this.proc(id);
    if (p.running) await p.kill();
    this.paused.delete(id);
    const next = this.spawnMember(id);
    // Keep what the previous incarnation printed.
    this.processes.set(id, next);
    this.previousOutput.set(id, `${this.previousOutput.get(id) ?? ''}${p.output()}`.slice(-128 * 1024));
  }

  private readonly previousOutput = new Map<string, string>();

  async pause(id: string): Promise<void> {
    this.proc(id).signal('SIGSTOP');
    this.paused.add(id);
  }

  async resume(id: string): Promise<void> {
    this.proc(id).signal('SIGCONT');
    this.paused.delete(id);
  }

  private link(from: string, to: string): { quorum: LinkProxy; election: LinkProxy } {
    const l = this.proxies.get(`${from}>${to}`);
    if (l === undefined) throw new JepsenError('cluster', `no link ${from}->${to}`);
    return l;
  }

  async cut(from: string, to: string, mode: CutMode = this.options.cutMode ?? 'blackhole'): Promise<void> {
    const l = this.link(from, to);
    l.quorum.cut(mode);
    l.election.cut(mode);
  }

  async heal(from: string, to: string): Promise<void> {
    const l = this.link(from, to);
    l.quorum.heal();
    l.election.heal();
  }

  async healAll(): Promise<void> {
    for (const l of this.proxies.values()) {
      l.quorum.heal();
      l.election.heal();
    }
  }

  /** `srvr` of a member, or the error. */
  async srvr(id: string, timeoutMs = 2000): Promise<string> {
    return fourLetterWord(this.port(id).client, 'srvr', '127.0.0.1', timeoutMs);
  }

  /** The member's role as `srvr` reports it (leader, follower), or undefined when not serving. */
  async mode(id: string): Promise<string | undefined> {
    if (this.paused.has(id) || !this.proc(id).running) return undefined;
    try {
      return /Mode: (\w+)/.exec(await this.srvr(id))?.[1];
    } catch {
      return undefined;
    }
  }

  async leader(): Promise<string | undefined> {
    for (const id of this.members) if ((await this.mode(id)) === 'leader') return id;
    return undefined;
  }

  /** Waits until the member serves requests (leader or follower). */
  async waitServing(id: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const mode = await this.mode(id);
      if (mode === 'leader' || mode === 'follower') return;
      if (!this.proc(id).running) throw new JepsenError('cluster', `member ${id} exited`);
      if (Date.now() > deadline) {
        throw new JepsenError(
          'cluster',
          `member ${id} does not serve after ${timeoutMs} ms (mode ${mode ?? 'none'})`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  output(id: string): string {
    return `${this.previousOutput.get(id) ?? ''}${this.processes.get(id)?.output() ?? ''}`;
  }

  /** Proxy counters per link, for logs. */
  linkStats(): Record<string, { quorum: LinkProxy['stats']; election: LinkProxy['stats'] }> {
    const out: Record<string, { quorum: LinkProxy['stats']; election: LinkProxy['stats'] }> = {};
    for (const [k, l] of this.proxies)
      out[k] = { quorum: { ...l.quorum.stats }, election: { ...l.election.stats } };
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.processes.values()].map((p) => p.stop()));
    await Promise.all([...this.proxies.values()].flatMap((l) => [l.quorum.close(), l.election.close()]));
    await rm(this.root, { recursive: true, force: true });
  }
}

/** Debian's slf4j binding that prints to stderr: with it the members' logs land in `output(id)`. */
const SLF4J_SIMPLE_JAR = '/usr/share/java/slf4j-simple.jar';

/**
 * Three Apache ZooKeeper 3.8 members (Debian's package) on 127.0.0.1, each a JVM in its own
 * process group, with every peer link through a `LinkProxy`.
 */
export class ApacheCluster extends ProxiedEnsemble {
  static async start(options: EnsembleOptions = {}): Promise<ApacheCluster> {
    assertApacheZooKeeperInstalled();
    const { root, ports, proxies } = await ProxiedEnsemble.prepare('apache-ensemble-', options);
    const cluster = new ApacheCluster(root, ports, proxies, options);
    await cluster.startAll();
    return cluster;
  }

  protected spawnMember(id: string): GroupProcess {
    return GroupProcess.spawn(
      'java',
      [
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-Xshare:auto',
        '-Dzookeeper.admin.enableServer=false',
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=info',
        '-Dorg.slf4j.simpleLogger.showDateTime=true',
        '-cp',
        [APACHE_ZK_CONF_DIR, APACHE_ZK_JAR, ...(existsSync(SLF4J_SIMPLE_JAR) ? [SLF4J_SIMPLE_JAR] : [])].join(
          ':',
        ),
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        this.configPath(id),
      ],
      `apache member ${id}`,
    );
  }
}
