import { EventEmitter } from 'node:events';
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

export interface ServiceDiscoveryOptions {
  /**
   * Makes a connected client with a new session. When the session of the current client expires
   * (its ephemeral instance nodes are gone), the discovery takes a client from here and registers
   * every instance it registered again, as Curator's ServiceDiscovery does on RECONNECTED after
   * LOST. Without it, `useClient` does the same with a client of the caller's choosing.
   */
  newClient?: () => Promise<ZooKeeperClient>;
}

export interface ServiceDiscoveryEvents {
  /** The instances were registered again on a new session. */
  reregistered: [instances: ServiceInstance[]];
  /** Making a new client or registering again failed after the session expired (if listened to). */
  error: [error: unknown];
}

/**
 * Service discovery (Curator's x-discovery layout): each instance is an ephemeral node
 * `basePath/name/id` holding its JSON, gone when its process's session ends. The instances
 * registered through this object come back on a new session (`newClient`, `useClient`) until they
 * are unregistered or the discovery is closed.
 */
export class ServiceDiscovery extends EventEmitter<ServiceDiscoveryEvents> {
  private client: ZooKeeperClient;
  private readonly registered = new Map<string, ServiceInstance>();
  private closed = false;
  private readonly onExpired = (): void => {
    void this.renew();
  };

  constructor(
    zk: ZooKeeperClient,
    readonly basePath: string,
    private readonly options: ServiceDiscoveryOptions = {},
  ) {
    super();
    this.client = zk;
    zk.on('expired', this.onExpired);
  }

  /** The client in use (a new one after `newClient` or `useClient`). */
  get zk(): ZooKeeperClient {
    return this.client;
  }

  /** Registers (or replaces) an instance; returns it with its id. */
  async registerService<P>(input: ServiceInstanceInput<P>): Promise<ServiceInstance<P>> {
    const instance: ServiceInstance<P> = {
      ...input,
      id: input.id ?? randomId(),
      registrationTimeUTC: Date.now(),
    };
    await this.write(instance);
    this.registered.set(join(instance.name, instance.id), instance);
    return instance;
  }

  private async write(instance: ServiceInstance): Promise<void> {
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
  }

  /**
   * Moves to `zk` (a client with a new session) and registers every instance registered so far
   * again. The service caches made before stay on the old client: make them again.
   */
  async useClient(zk: ZooKeeperClient): Promise<void> {
    if (zk !== this.client) {
      this.client.off('expired', this.onExpired);
      this.client = zk;
      zk.on('expired', this.onExpired);
    }
    const instances = [...this.registered.values()];
    for (const instance of instances) await this.write(instance);
    this.emit('reregistered', instances);
  }

  private async renew(): Promise<void> {
    const make = this.options.newClient;
    if (this.closed || make === undefined) return;
    const expired = this.client;
    try {
      const zk = await make();
      if (this.closed || this.client !== expired) return;
      await this.useClient(zk);
    } catch (e) {
      if (this.listenerCount('error') > 0) this.emit('error', e);
    }
  }

  /** Stops registering again on new sessions (the client stays open: close it yourself). */
  close(): void {
    this.closed = true;
    this.client.off('expired', this.onExpired);
  }

  async unregisterService(name: string, id: string): Promise<void> {
    this.registered.delete(join(name, id));
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
