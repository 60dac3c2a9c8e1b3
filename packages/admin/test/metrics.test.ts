import { createClient } from '@zkts/client';
import { freePort } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZkts, type TestZkts } from './helpers.js';
import { type Family, parsePrometheus, sampleValue } from './prometheus.js';

/** ZooKeeper 3.8's metric names and types as its Prometheus provider exports them. */
const EXPECTED: Record<string, string> = {
  znode_count: 'gauge',
  watch_count: 'gauge',
  ephemerals_count: 'gauge',
  approximate_data_size: 'gauge',
  outstanding_requests: 'gauge',
  num_alive_connections: 'gauge',
  avg_latency: 'gauge',
  max_latency: 'gauge',
  min_latency: 'gauge',
  packets_received: 'gauge',
  packets_sent: 'gauge',
  global_sessions: 'gauge',
  open_file_descriptor_count: 'gauge',
  max_file_descriptor_count: 'gauge',
  uptime: 'gauge',
  fsynctime: 'summary',
  readlatency: 'summary',
  updatelatency: 'summary',
  election_time: 'summary',
  proposal_latency: 'summary',
  quorum_ack_latency: 'summary',
  snapshottime: 'summary',
  commit_count: 'counter',
  looking_count: 'counter',
  diff_count: 'counter',
  snap_count: 'counter',
  connection_rejected: 'counter',
  bytes_received_count: 'counter',
  large_requests_rejected: 'counter',
  unsuccessful_handshake: 'counter',
};

async function scrape(url: string): Promise<Map<string, Family>> {
  const r = await fetch(url);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await r.text());
}

describe('Prometheus /metrics', () => {
  let zkts: TestZkts;
  let metricsPort: number;

  beforeAll(async () => {
    metricsPort = await freePort();
    zkts = await startZkts({
      'metricsProvider.httpPort': String(metricsPort),
      'metricsProvider.httpHost': '127.0.0.1',
    });
  });
  afterAll(async () => {
    await zkts?.stop();
  });

  it('parser rejects malformed expositions', () => {
    expect(() => parsePrometheus('# TYPE a gauge\na{x="1"} notanumber\n')).toThrow(/bad value/);
    expect(() => parsePrometheus('b 1\n')).toThrow(/no TYPE/);
    expect(() => parsePrometheus('# TYPE a gauge\na{x=1} 2\n')).toThrow(/bad labels/);
    const f = parsePrometheus('# TYPE s summary\ns{quantile="0.5"} 3\ns_sum 6\ns_count 2\n');
    expect(sampleValue(f, 's', { quantile: '0.5' })).toBe(3);
    expect(sampleValue(f, 's_count')).toBe(2);
  });

  it('uses ZooKeeper names and types, on metricsProvider.httpPort and on the admin port', async () => {
    for (const url of [`http://127.0.0.1:${metricsPort}/metrics`, `${zkts.base}/metrics`]) {
      const families = await scrape(url);
      const types = Object.fromEntries(Object.keys(EXPECTED).map((n) => [n, families.get(n)?.type]));
      expect(types).toEqual(EXPECTED);
      // Latency summaries as ZooKeeper's provider writes them: quantiles, _sum and _count.
      for (const name of ['readlatency', 'updatelatency', 'proposal_latency']) {
        const qs = families
          .get(name)
          ?.samples.filter((s) => s.name === name)
          .map((s) => s.labels.quantile);
        expect(qs).toEqual(['0.5', '0.9', '0.99']);
        expect(sampleValue(families, `${name}_count`)).toBeGreaterThanOrEqual(0);
        expect(sampleValue(families, `${name}_sum`)).toBeGreaterThanOrEqual(0);
      }
      const fsync = families.get('fsynctime')?.samples.filter((s) => s.name === 'fsynctime');
      expect(fsync?.map((s) => s.labels.quantile)).toEqual(['0.5']);
    }
    const other = await fetch(`http://127.0.0.1:${metricsPort}/commands/ruok`);
    expect(other.status).toBe(404);
    expect(zkts.admin.metricsAddress()).toEqual({ host: '127.0.0.1', port: metricsPort });
  });

  it('moves counters, summaries and gauges under load', async () => {
    const url = `${zkts.base}/metrics`;
    const before = await scrape(url);
    const zk = createClient(zkts.connectString);
    await zk.connect();
    try {
      const writes = 60;
      const reads = 120;
      await zk.create('/load', 'x');
      await Promise.all(Array.from({ length: writes }, (_, i) => zk.create(`/load/n${i}`, 'payload')));
      await Promise.all(Array.from({ length: reads }, (_, i) => zk.getData(`/load/n${i % writes}`)));
      await zk.create('/load/eph', 'e', { mode: 'EPHEMERAL' });
      await zk.exists('/load/eph', { watch: () => {} });
      const after = await scrape(url);
      const delta = (name: string, labels = {}) =>
        sampleValue(after, name, labels) - sampleValue(before, name, labels);
      // Every write is committed: the session, /load, the children and the ephemeral.
      expect(delta('commit_count')).toBeGreaterThanOrEqual(writes + 3);
      expect(delta('updatelatency_count')).toBeGreaterThanOrEqual(writes + 2);
      expect(delta('readlatency_count')).toBeGreaterThanOrEqual(reads);
      expect(delta('fsynctime_count')).toBeGreaterThan(0);
      expect(delta('znode_count')).toBe(writes + 2);
      expect(delta('packets_received')).toBeGreaterThanOrEqual(writes + reads);
      expect(delta('bytes_received_count')).toBeGreaterThan(0);
      expect(sampleValue(after, 'ephemerals_count')).toBe(1);
      expect(sampleValue(after, 'num_alive_connections')).toBe(1);
      expect(sampleValue(after, 'watch_count')).toBe(1);
      expect(sampleValue(after, 'global_sessions')).toBe(1);
      expect(sampleValue(after, 'approximate_data_size')).toBeGreaterThan(
        sampleValue(before, 'approximate_data_size'),
      );
      // Counters never go back, even after the server's statistics are reset (srst).
      await fetch(`${zkts.base}/commands/srst`);
      const reset = await scrape(url);
      expect(sampleValue(reset, 'commit_count')).toBeGreaterThanOrEqual(sampleValue(after, 'commit_count'));
      expect(sampleValue(reset, 'readlatency_count')).toBe(sampleValue(after, 'readlatency_count'));
    } finally {
      await zk.close();
    }
  });

  it('mntr over HTTP lists the same figures (latency counts restart at srst, as in ZooKeeper)', async () => {
    const zk = createClient(zkts.connectString);
    await zk.connect();
    await Promise.all(Array.from({ length: 10 }, () => zk.getData('/load')));
    await zk.close();
    const r = (await (await fetch(`${zkts.base}/commands/mntr`)).json()) as Record<string, unknown>;
    const families = await scrape(`${zkts.base}/metrics`);
    expect(r.znode_count).toBe(sampleValue(families, 'znode_count'));
    expect(r.cnt_readlatency).toBeGreaterThanOrEqual(10);
    expect(r.cnt_readlatency).toBe(zkts.server.counters.readLatency.count);
    expect(sampleValue(families, 'readlatency_count')).toBeGreaterThan(r.cnt_readlatency as number);
    for (const k of ['p50_readlatency', 'p95_readlatency', 'p99_readlatency', 'p999_readlatency']) {
      expect(typeof r[k]).toBe('number');
    }
  });
});
