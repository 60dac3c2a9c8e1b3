import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { configFromEnvironment, hasZooEnvironment } from '../src/environment.js';

describe('ZOO_* environment (the official Docker image)', () => {
  it('writes the zoo.cfg the image writes, with its defaults', () => {
    const env = { ZOO_DATA_DIR: '/data', ZOO_DATA_LOG_DIR: '/datalog', ZOO_MY_ID: '2' };
    const { text, myId } = configFromEnvironment(env, '/unused');
    const { config, warnings } = parseConfig(text);
    expect(warnings).toEqual([]);
    expect(myId).toBe(2);
    expect(config).toMatchObject({
      dataDir: '/data',
      dataLogDir: '/datalog',
      tickTime: 2000,
      initLimit: 5,
      syncLimit: 2,
      maxClientCnxns: 60,
      snapRetainCount: 3,
      purgeIntervalHours: 0,
    });
    expect(config.servers).toEqual([
      {
        id: 1,
        host: 'localhost',
        quorumPort: 2888,
        electionPort: 3888,
        role: 'participant',
        clientPort: 2181,
      },
    ]);
  });

  it('takes servers, the whitelist and extra keys', () => {
    const env = {
      ZOO_SERVERS: 'server.1=zoo1:2888:3888;2181 server.2=zoo2:2888:3888;2181 server.3=zoo3:2888:3888;2181',
      ZOO_4LW_COMMANDS_WHITELIST: 'srvr,mntr,ruok',
      ZOO_CFG_EXTRA: 'metricsProvider.httpPort=7000 znode.container.checkIntervalMs=1000',
      ZOO_TICK_TIME: '3000',
    };
    const { config } = parseConfig(configFromEnvironment(env, '/d').text);
    expect(config.servers.map((s) => s.host)).toEqual(['zoo1', 'zoo2', 'zoo3']);
    expect([...config.fourLetterWords].sort()).toEqual(['mntr', 'ruok', 'srvr']);
    expect(config.metricsHttpPort).toBe(7000);
    expect(config.containerCheckIntervalMs).toBe(1000);
    expect(config.tickTime).toBe(3000);
    expect(config.dataDir).toBe('/d');
  });

  it('reports a bad ZOO_MY_ID and detects the environment', () => {
    expect(configFromEnvironment({ ZOO_MY_ID: 'two' }, '/d').myId).toBeNaN();
    expect(hasZooEnvironment({ PATH: '/bin' })).toBe(false);
    expect(hasZooEnvironment({ ZOO_TICK_TIME: '2000' })).toBe(true);
  });
});
