import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type EnsembleOptions, ProxiedEnsemble } from './apache-cluster.js';
import { JepsenError } from './errors.js';
import { GroupProcess } from './process-group.js';

/** The repository's root, found from this file (packages/jepsen/src or dist). */
export function repositoryRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

/** The zkts server's entry point, built by `pnpm build`. */
export function zktsServerMain(): string {
  return join(repositoryRoot(), 'apps', 'server', 'dist', 'main.js');
}

/**
 * Three zkts servers on 127.0.0.1 (`node apps/server/dist/main.js <zoo.cfg>`, with `myid` in each
 * data directory), each in its own process group, with every peer link through a `LinkProxy`: the
 * same layout and zoo.cfg syntax as `ApacheCluster`.
 */
export class ZktsCluster extends ProxiedEnsemble {
  static async start(options: EnsembleOptions = {}): Promise<ZktsCluster> {
    const main = zktsServerMain();
    if (!existsSync(main)) {
      throw new JepsenError('cluster', `${main} is missing: run pnpm build first`);
    }
    const { root, ports, proxies } = await ProxiedEnsemble.prepare('zkts-ensemble-', options);
    const cluster = new ZktsCluster(root, ports, proxies, options);
    await cluster.startAll();
    return cluster;
  }

  protected spawnMember(id: string): GroupProcess {
    return GroupProcess.spawn(process.execPath, [zktsServerMain(), this.configPath(id)], `zkts member ${id}`);
  }
}
