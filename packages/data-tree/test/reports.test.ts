import { AddWatchMode, CreateMode } from '@zkts/codec';
import { describe, expect, it } from 'vitest';
import { Harness } from './harness.js';

describe('reports for the four-letter words', () => {
  it('counts watches by watcher, by path and in total (wchc, wchp, wchs)', () => {
    const h = new Harness();
    h.create('/a');
    h.tree.getData('/a', { authIds: [], watcher: 'x' });
    h.tree.getChildren('/a', { authIds: [], watcher: 'x' });
    h.tree.exists('/b', { authIds: [], watcher: 'y' });
    h.tree.addWatch('/c', AddWatchMode.PERSISTENT, 'y');
    expect(h.tree.watches.byWatcher()).toEqual(
      new Map([
        ['x', ['/a']],
        ['y', ['/b', '/c']],
      ]),
    );
    expect(h.tree.watches.byPath()).toEqual(
      new Map([
        ['/a', ['x']],
        ['/b', ['y']],
        ['/c', ['y']],
      ]),
    );
    expect(h.tree.watches.summary()).toEqual({ watchers: 2, paths: 3, total: 5 });
  });

  it('lists ephemerals per session and sizes the data (dump, mntr)', () => {
    const h = new Harness();
    h.session(1n);
    h.session(2n);
    h.create('/e2', '', CreateMode.EPHEMERAL, { session: 2n });
    h.create('/e1', 'abc', CreateMode.EPHEMERAL, { session: 1n });
    h.create('/e0', '', CreateMode.EPHEMERAL, { session: 1n });
    expect(h.tree.getAllEphemerals()).toEqual(
      new Map([
        [2n, ['/e2']],
        [1n, ['/e0', '/e1']],
      ]),
    );
    expect(h.tree.ephemeralCount).toBe(3);
    // '/'(1) + '/zookeeper'(10) + '/zookeeper/quota'(16) + '/zookeeper/config'(17) + 3 + 3+3 + 3
    expect(h.tree.approximateDataSize()).toBe(1 + 10 + 16 + 17 + 3 + 6 + 3);
  });
});
