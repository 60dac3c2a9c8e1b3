import type { ZooKeeperClient } from '@zkts/client';
import { TreeCache } from './tree-cache.js';
import { ensurePath, isCode, join, randomId } from './util.js';

/** One registered instance of a service (the JSON stored in its ephemeral node). */
export interface ServiceInstance<P = unknown> {
  name: string;
  id: string;
  address: string;
  port?: number;
  payload?: P;
  registrationTimeUTC: number;
}

export type ServiceInstanceInput<P = unknown> = Omit<ServiceInstance<P>, 'registrationTimeUTC' | 'id'> & {
  id?: string;
};

/**
 * Service discovery (Curator's x-discovery layout): each instance is an ephemeral node
 * `basePath/name/id` holding its JSON, gone when its process's session ends.
 */
export class ServiceDiscovery {
  constructor(
    readonly zk: ZooKeeperClient,
    readonly basePath: string,
  ) {}

  /** Registers (or replaces) an instance; returns it with its id. */
  async registerService<P>(input: ServiceInstanceInput<P>): Promise<ServiceInstance<P>> {
    const instance: ServiceInstance<P> = {
      ...input,
      id: input.id ?? randomId(),
      registrationTimeUTC: Date.now(),
    };
    const dir = join(this.basePath, instance.name);
    await ensurePath(this.zk, dir);
    const path = join(dir, instance.id);
    const json = JSON.stringify(instance);
    try {
      await this.zk.create(path, json, { mode: 'EPHEMERAL' });
    } catch (e) {
      if (!isCode(e, 'NodeExists')) throw e;
      await this.zk.setData(path, json);
    }
    return instance;
  }

  async unregisterService(name: string, id: string): Promise<void> {
    try {
      await this.zk.delete(join(join(this.basePath, name), id));
    } catch (e) {
      if (!isCode(e, 'NoNode')) throw e;
    }
  }

  /** Names of the services with a node under the base path. */
  async queryForNames(): Promise<string[]> {
    try {
      return (await this.zk.getChildren(this.basePath)).sort();
    } catch (e) {
      if (isCode(e, 'NoNode')) return [];
      throw e;
    }
  }

  async queryForInstances<P = unknown>(name: string): Promise<ServiceInstance<P>[]> {
    const dir = join(this.basePath, name);
    let ids: string[];
    try {
      ids = (await this.zk.getChildren(dir)).sort();
    } catch (e) {
      if (isCode(e, 'NoNode')) return [];
      throw e;
    }
    const out: ServiceInstance<P>[] = [];
    for (const id of ids) {
      const inst = await this.queryForInstance<P>(name, id);
      if (inst !== undefined) out.push(inst);
    }
    return out;
  }

  async queryForInstance<P = unknown>(name: string, id: string): Promise<ServiceInstance<P> | undefined> {
    try {
      const { data } = await this.zk.getData(join(join(this.basePath, name), id));
      return JSON.parse(data?.toString('utf8') ?? '') as ServiceInstance<P>;
    } catch (e) {
      if (isCode(e, 'NoNode')) return undefined;
      throw e;
    }
  }

  /** A live view of one service's instances (a TreeCache on its node); call `start()`. */
  serviceCache<P = unknown>(name: string): ServiceCache<P> {
    return new ServiceCache<P>(this.zk, join(this.basePath, name));
  }
}

/** The instances of one service, kept current (TreeCache events report every change). */
export class ServiceCache<P = unknown> extends TreeCache {
  override async start(): Promise<void> {
    await ensurePath(this.zk, this.root);
    await super.start();
  }

  instances(): ServiceInstance<P>[] {
    const out: ServiceInstance<P>[] = [];
    for (const id of this.children(this.root)) {
      const node = this.get(join(this.root, id));
      if (node === undefined) continue;
      try {
        out.push(JSON.parse(node.data?.toString('utf8') ?? '') as ServiceInstance<P>);
      } catch {
        // not an instance record
      }
    }
    return out;
  }
}
