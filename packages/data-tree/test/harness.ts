import { type ACL, CreateMode, type Id } from '@zkts/codec';
import {
  type ApplyResult,
  DataTree,
  type DataTreeOptions,
  OPEN_ACL_UNSAFE,
  type TreeError,
  type TreeRequest,
} from '../src/index.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
export const IP: Id = { scheme: 'ip', id: '127.0.0.1' };

/** A tree plus a zxid counter and clock: requests go through prep then apply, as on a leader. */
export class Harness {
  readonly tree: DataTree<string>;
  zxid = 0n;
  time = 1_000n;
  constructor(options: DataTreeOptions = {}) {
    this.tree = new DataTree<string>(options);
  }

  run(
    request: TreeRequest,
    session = 1n,
    authIds: readonly Id[] = [IP],
  ): ApplyResult<string> & { error?: TreeError } {
    this.zxid += 1n;
    this.time += 10n;
    const { txn, error } = this.tree.prep(request, {
      sessionId: session,
      authIds,
      zxid: this.zxid,
      time: this.time,
    });
    const r = this.tree.apply(txn, this.zxid, this.time);
    return error === undefined ? r : { ...r, error };
  }

  session(id: bigint, timeout = 30_000): void {
    const r = this.run({ type: 'createSession', timeout }, id);
    if (r.err !== 0) throw new Error(`createSession failed ${r.err}`);
  }

  create(
    path: string,
    data = '',
    flags: number = CreateMode.PERSISTENT,
    opts: { session?: bigint; acl?: readonly ACL[]; ttl?: number; auth?: readonly Id[] } = {},
  ) {
    return this.run(
      { type: 'create', path, data: enc(data), acl: opts.acl ?? OPEN_ACL_UNSAFE, flags, ttl: opts.ttl },
      opts.session ?? 1n,
      opts.auth ?? [IP],
    );
  }

  setData(path: string, data: string, version = -1, auth: readonly Id[] = [IP]) {
    return this.run({ type: 'setData', path, data: enc(data), version }, 1n, auth);
  }

  delete(path: string, version = -1, auth: readonly Id[] = [IP]) {
    return this.run({ type: 'delete', path, version }, 1n, auth);
  }

  stat(path: string) {
    const s = this.tree.statNode(path);
    if (s === undefined) throw new Error(`no node ${path}`);
    return s;
  }
}
