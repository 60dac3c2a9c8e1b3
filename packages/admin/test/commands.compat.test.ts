/**
 * Every AdminServer command, asked of Apache ZooKeeper 3.8 and of zkts in the same state: the
 * JSON answers must have the same field names and value types (values such as times and ids
 * differ and are not compared), and `command`/`error` the same values.
 */
import { createClient, type ZooKeeperClient } from '@zkts/client';
import { type ApacheZooKeeper, freePort, startApacheZooKeeper } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startZkts, type TestZkts } from './helpers.js';

/** Objects whose keys are data (ids, times, paths), not field names. */
const MAPS = new Set([
  'expiry_time_to_session_ids',
  'session_id_to_ephemeral_paths',
  'session_id_to_watched_paths',
  'path_to_session_ids',
]);

/** A JSON value's shape: field names and value types, with maps and array lengths masked. */
function shape(v: unknown, key = ''): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? '[]' : ['[]', shape(v[0])];
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    if (MAPS.has(key)) return entries.length === 0 ? '{map}' : ['{map}', shape(entries[0]?.[1], '')];
    return Object.fromEntries(
      entries
        .filter(([k]) => !PER_NAMESPACE.test(k))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, x]) => [k, shape(x, k)]),
    );
  }
  return typeof v;
}

/**
 * Compares two shapes; an empty array or map on one side matches any array or map on the other
 * (the servers may hold different numbers of items, e.g. digests logged so far).
 */
function sameShape(a: unknown, b: unknown, at: string, problems: string[]): void {
  const isList = (x: unknown) => x === '[]' || (Array.isArray(x) && x[0] === '[]');
  const isMap = (x: unknown) => x === '{map}' || (Array.isArray(x) && x[0] === '{map}');
  if ((isList(a) && isList(b)) || (isMap(a) && isMap(b))) {
    if (Array.isArray(a) && Array.isArray(b)) sameShape(a[1], b[1], `${at}[0]`, problems);
    return;
  }
  if (
    typeof a === 'object' &&
    a !== null &&
    typeof b === 'object' &&
    b !== null &&
    !Array.isArray(a) &&
    !Array.isArray(b)
  ) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    for (const k of ka) if (!kb.includes(k)) problems.push(`${at}.${k}: only in Apache ZooKeeper`);
    for (const k of kb) if (!ka.includes(k)) problems.push(`${at}.${k}: only in zkts`);
    for (const k of ka) {
      if (kb.includes(k))
        sameShape(
          (a as Record<string, unknown>)[k],
          (b as Record<string, unknown>)[k],
          `${at}.${k}`,
          problems,
        );
    }
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b))
    problems.push(`${at}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
}

/**
 * ZooKeeper's per-namespace summaries (`<avg|min|max|cnt|sum>_<top-level node>_read_per_namespace`),
 * named after the data of the tree: zkts does not measure reads and writes per namespace yet.
 */
const PER_NAMESPACE = /^(avg|min|max|cnt|sum)_.+_(read|write)_per_namespace$/;

/** Commands whose field names are the host's own (Java system properties): compared by kind only. */
const HOST_SPECIFIC = new Set(['sysp', 'system_properties']);

const NAMES = [
  'ruok',
  'srvr',
  'server_stats',
  'stat',
  'stats',
  'mntr',
  'monitor',
  'conf',
  'configuration',
  'cons',
  'connections',
  'crst',
  'connection_stat_reset',
  'dump',
  'envi',
  'environment',
  'dirs',
  'isro',
  'is_read_only',
  'lsnp',
  'last_snapshot',
  'wchs',
  'watch_summary',
  'wchc',
  'watches',
  'wchp',
  'watches_by_path',
  'lead',
  'leader',
  'voting_view',
  'zabstate',
  'obsr',
  'observers',
  'icfg',
  'initial_configuration',
  'sysp',
  'system_properties',
  'hash',
  'gtmk',
  'get_trace_mask',
  'stmk',
  'set_trace_mask',
  'srst',
  'stat_reset',
  'orst',
  'observer_connection_stat_reset',
];

describe('AdminServer commands: zkts answers with Apache ZooKeeper 3.8 JSON', () => {
  let apache: ApacheZooKeeper;
  let apacheAdmin: string;
  let zkts: TestZkts;
  const clients: ZooKeeperClient[] = [];

  /** The same state on both: a session with an ephemeral node and watches, a persistent node. */
  async function prepare(connectString: string): Promise<void> {
    const zk = createClient(connectString, { sessionTimeout: 30_000 });
    clients.push(zk);
    await zk.connect();
    await zk.create('/app', 'config');
    await zk.create('/app/worker', 'w1', { mode: 'EPHEMERAL' });
    await zk.getData('/app', { watch: () => {} });
    await zk.getData('/app/worker', { watch: () => {} });
    await zk.getChildren('/app', { watch: () => {} });
  }

  beforeAll(async () => {
    const adminPort = await freePort();
    [apache, zkts] = await Promise.all([startApacheZooKeeper({ adminServerPort: adminPort }), startZkts()]);
    apacheAdmin = `http://127.0.0.1:${adminPort}`;
    await Promise.all([prepare(apache.connectString), prepare(zkts.connectString)]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await Promise.all([apache?.stop(), zkts?.stop()]);
  });

  it('lists the same commands on the index page', async () => {
    const [a, z] = await Promise.all([fetch(`${apacheAdmin}/commands`), fetch(`${zkts.base}/commands`)]);
    const links = (html: string) =>
      [...html.matchAll(/<a href="\/commands\/([a-z_]+)">\1<\/a>/g)].map((m) => m[1]);
    const [la, lz] = [links(await a.text()), links(await z.text())];
    expect(la.length).toBeGreaterThan(20);
    expect(lz).toEqual(la);
  });

  for (const name of NAMES) {
    it(`${name}: same fields, command and error`, async () => {
      const [a, z] = await Promise.all([
        getJson(`${apacheAdmin}/commands/${name}`),
        getJson(`${zkts.base}/commands/${name}`),
      ]);
      expect(z.status).toBe(a.status);
      expect(z.type).toBe(a.type);
      const ab = a.body as Record<string, unknown>;
      const zb = z.body as Record<string, unknown>;
      expect(zb.command).toBe(ab.command);
      expect(zb.error).toEqual(ab.error);
      if (HOST_SPECIFIC.has(name)) {
        expect(Object.values(zb).filter((v) => v !== null && typeof v !== 'string')).toEqual([]);
        return;
      }
      const problems: string[] = [];
      sameShape(shape(ab), shape(zb), name, problems);
      expect(problems).toEqual([]);
    });
  }

  it('answers bad requests with the same JSON errors', async () => {
    for (const path of [
      '/commands/no_such_command',
      '/commands/stmk?traceMask=abc',
      '/commands/stmk?traceMask=99',
      '/commands/ruok/extra',
    ]) {
      const [a, z] = await Promise.all([getJson(`${apacheAdmin}${path}`), getJson(`${zkts.base}${path}`)]);
      expect({ path, status: z.status, body: z.body }).toEqual({ path, status: a.status, body: a.body });
    }
  });

  it('writes JSON byte for byte as ZooKeeper does (field order, spacing, null error)', async () => {
    for (const name of [
      'ruok',
      'isro',
      'lead',
      'no_such_command',
      'stmk?traceMask=7',
      'obsr',
      'voting_view',
    ]) {
      const [a, z] = await Promise.all([
        fetch(`${apacheAdmin}/commands/${name}`).then((r) => r.text()),
        fetch(`${zkts.base}/commands/${name}`).then((r) => r.text()),
      ]);
      expect({ name, text: z }).toEqual({ name, text: a });
    }
  });

  it('reports the same tree, session and connection figures in mntr', async () => {
    const [a, z] = await Promise.all([
      getJson(`${apacheAdmin}/commands/mntr`),
      getJson(`${zkts.base}/commands/mntr`),
    ]);
    const pick = (b: unknown) => {
      const m = b as Record<string, unknown>;
      return Object.fromEntries(
        [
          'server_state',
          'znode_count',
          'ephemerals_count',
          'approximate_data_size',
          'global_sessions',
          'num_alive_connections',
          'outstanding_requests',
        ].map((k) => [k, m[k]]),
      );
    };
    expect(pick(z.body)).toEqual(pick(a.body));
  });

  it('reports the same session, ephemeral and watch figures', async () => {
    const [a, z] = await Promise.all(
      ['dump', 'wchs', 'cons'].map(async (n) => {
        const [x, y] = await Promise.all([
          getJson(`${apacheAdmin}/commands/${n}`),
          getJson(`${zkts.base}/commands/${n}`),
        ]);
        return [x.body, y.body] as const;
      }),
    ).then((pairs) => [pairs.map((p) => p[0]), pairs.map((p) => p[1])]);
    const eph = (d: unknown) =>
      Object.values(
        (d as { session_id_to_ephemeral_paths: Record<string, string[]> }).session_id_to_ephemeral_paths,
      );
    expect(eph(z?.[0])).toEqual(eph(a?.[0]));
    expect((z?.[2] as { connections: unknown[] }).connections.length).toBe(
      (a?.[2] as { connections: unknown[] }).connections.length,
    );
    expect((z?.[1] as { num_connections: number }).num_connections).toBe(
      (a?.[1] as { num_connections: number }).num_connections,
    );
  });
});
