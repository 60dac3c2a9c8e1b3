import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApacheZooKeeper, runZkCli, startApacheZooKeeper } from '../src/index.js';

describe('throwaway Apache ZooKeeper', () => {
  let zk: ApacheZooKeeper;
  beforeAll(async () => {
    zk = await startApacheZooKeeper();
  });
  afterAll(async () => {
    await zk?.stop();
  });

  it('answers srvr as a standalone 3.8 server', async () => {
    const srvr = await zk.fourLetterWord('srvr');
    expect(srvr).toMatch(/^Zookeeper version: 3\.8\./);
    expect(srvr).toContain('Mode: standalone');
  });

  it('runs zkCli.sh commands against it', async () => {
    const created = await runZkCli(zk.connectString, ['create', '/testkit', 'hello']);
    expect(created.stdout + created.stderr).toContain('Created /testkit');
    const got = await runZkCli(zk.connectString, ['get', '/testkit']);
    expect(got.stdout).toContain('hello');
  });
});
