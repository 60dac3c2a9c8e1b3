import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeeperError, type ZooKeeperClient } from '@zkts/client';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type Cluster,
  checkHistory,
  checkHistoryFile,
  JepsenError,
  parseHistory,
  runJepsen,
} from '../src/index.js';

/** An in-memory "ensemble": one map of znodes, and faults that only get logged. */
class FakeCluster implements Cluster {
  readonly members = ['1', '2', '3'];
  readonly actions: string[] = [];
  readonly nodes = new Map<string, { value: string; version: number }>();
  connectString(id: string): string {
    return `fake:${id}`;
  }
  async kill(id: string) {
    this.actions.push(`kill ${id}`);
  }
  async restart(id: string) {
    this.actions.push(`restart ${id}`);
  }
  async pause(id: string) {
    this.actions.push(`pause ${id}`);
  }
  async resume(id: string) {
    this.actions.push(`resume ${id}`);
  }
  async cut(from: string, to: string, mode?: string) {
    this.actions.push(`cut ${from}>${to} ${mode}`);
  }
  async heal(from: string, to: string) {
    this.actions.push(`heal ${from}>${to}`);
  }
  async healAll() {
    this.actions.push('healAll');
  }
  async close() {}
}

/**
 * A client of the fake store. `bug`: `lose` acknowledges one write in 40 without applying it;
 * `stale` answers one read in 20 with the state before the last write this client made.
 */
function fakeClient(cluster: FakeCluster, bug?: 'lose' | 'stale') {
  let n = 0;
  const tick = () => new Promise((r) => setTimeout(r, 1));
  const history = new Map<string, { value: string; version: number }[]>();
  const client = {
    state: 'connected',
    async connect() {},
    async close() {
      client.state = 'closed';
    },
    async sync() {},
    async create(path: string, value: string | null) {
      await tick();
      if (cluster.nodes.has(path)) throw KeeperError.fromName('NodeExists', undefined, path);
      cluster.nodes.set(path, { value: value ?? '', version: 0 });
      return path;
    },
    async getData(path: string) {
      await tick();
      const node = cluster.nodes.get(path);
      if (node === undefined) throw KeeperError.fromName('NoNode', undefined, path);
      const old = history.get(path)?.at(-1);
      if (bug === 'stale' && old !== undefined && ++n % 20 === 0 && old.version < node.version) {
        return { data: Buffer.from(old.value), stat: { version: old.version } };
      }
      return { data: Buffer.from(node.value), stat: { version: node.version } };
    },
    async setData(path: string, value: string, version: number) {
      await tick();
      const node = cluster.nodes.get(path);
      if (node === undefined) throw KeeperError.fromName('NoNode', undefined, path);
      if (version !== -1 && version !== node.version)
        throw KeeperError.fromName('BadVersion', undefined, path);
      const next = { value, version: node.version + 1 };
      if (bug === 'lose' && ++n % 40 === 0) return { version: next.version };
      history.set(path, [...(history.get(path) ?? []), node]);
      cluster.nodes.set(path, next);
      return { version: next.version };
    },
  };
  return client as unknown as ZooKeeperClient;
}

/** Failing runs write their histories here. */
const historyDir = mkdtempSync(join(tmpdir(), 'jepsen-runner-test-'));
afterAll(() => rmSync(historyDir, { recursive: true, force: true }));

const run = (cluster: FakeCluster, bug?: 'lose' | 'stale', reads?: 'linearizable' | 'sequential') =>
  runJepsen({
    cluster,
    seed: 1234,
    durationMs: 1500,
    clients: 4,
    keys: 2,
    nemesis: { quietStartMs: 0, gapMs: [100, 300], faultMs: [100, 300] },
    createClient: () => fakeClient(cluster, bug),
    replayCommand: 'pnpm exec vitest run --project jepsen',
    historyDir,
    ...(reads === undefined ? {} : { reads }),
  });

describe('runJepsen against an in-memory store', () => {
  it('finds a correct store valid, applying and healing every fault', async () => {
    const cluster = new FakeCluster();
    const result = await run(cluster);
    expect(result.verdict.valid).toBe(true);
    expect(result.ops).toBeGreaterThan(100);
    expect(result.counts['read:ok']).toBeGreaterThan(0);
    expect(result.history.ops.filter((op) => op.final)).toHaveLength(3 * 2);
    expect(result.schedule.faults.length).toBeGreaterThan(0);
    expect(cluster.actions.at(-1)).toBe('healAll');
    const kills = cluster.actions.filter((a) => a.startsWith('kill')).length;
    expect(cluster.actions.filter((a) => a.startsWith('restart')).length).toBe(kills);
    expect(result.historyPath).toBeUndefined();
  });

  it('fails a store that loses acknowledged writes, naming the seed, the replay and the saved history', async () => {
    const error = await run(new FakeCluster(), 'lose').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JepsenError);
    const message = (error as JepsenError).message;
    expect(message).toContain('seed 1234');
    expect(message).toContain('replay: ZKTS_JEPSEN_SEED=1234 pnpm exec vitest run --project jepsen');
    const path = /history \(\d+ operations\): (\S+)/.exec(message)?.[1];
    expect(path).toBeDefined();
    expect(existsSync(path!)).toBe(true);
    // The saved history re-checks to the same verdict.
    const again = checkHistory(parseHistory(readFileSync(path!, 'utf8')), { reads: 'sequential' });
    expect(again.valid).toBe(false);
    expect((await checkHistoryFile(path!)).valid).toBe(false);
    rmSync(path!);
  });

  it('fails stale reads when reads must be linearizable', async () => {
    const cluster = new FakeCluster();
    const strict = await runJepsen({
      cluster,
      seed: 99,
      durationMs: 1500,
      clients: 4,
      keys: 1,
      nemesis: false,
      throwOnFailure: false,
      historyDir,
      reads: 'linearizable',
      createClient: () => fakeClient(cluster, 'stale'),
    });
    expect(strict.verdict.valid).toBe(false);
    if (strict.historyPath !== undefined) rmSync(strict.historyPath);
  });
});
