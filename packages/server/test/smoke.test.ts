import { type JavaDriver, startJavaDriver } from '@zkts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';

describe('zkts standalone with Apache ZooKeeper Java client', () => {
  let srv: TestServer;
  let zk: JavaDriver;
  beforeAll(async () => {
    srv = await startTestServer();
    zk = await startJavaDriver(srv.connectString);
  });
  afterAll(async () => {
    await zk?.close();
    await srv?.stop();
  });

  it('creates, reads, sets and deletes', async () => {
    const created = await zk.must({ op: 'create', path: '/zk', data: 'mydata' });
    expect(created.path).toBe('/zk');
    const got = await zk.must({ op: 'getData', path: '/zk', watch: true });
    expect(Buffer.from(got.data ?? []).toString()).toBe('mydata');
    expect(got.stat.version).toBe(0);
    const set = await zk.must({ op: 'setData', path: '/zk', data: 'newData' });
    expect(set.stat.version).toBe(1);
    const ev = await zk.waitForEvent((e) => e.path === '/zk');
    expect(ev.type).toBe('NodeDataChanged');
    const seq = await zk.must({ op: 'create', path: '/zk/s-', data: '', mode: 2 });
    expect(seq.path).toBe('/zk/s-0000000000');
    const bad = await zk.request({ op: 'delete', path: '/zk', version: 5 });
    expect(bad.ok).toBe(false);
    expect(bad.ok === false && bad.code).toBe(-103);
  });
});
