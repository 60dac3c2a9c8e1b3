/** Quota bookkeeping nodes of ZooKeeper 3.8 (Quotas, StatsTrack). */
export const PROC_ZOOKEEPER = '/zookeeper';
export const QUOTA_ZOOKEEPER = '/zookeeper/quota';
export const CONFIG_ZOOKEEPER = '/zookeeper/config';
export const LIMIT_NODE = 'zookeeper_limits';
export const STAT_NODE = 'zookeeper_stats';

export const quotaPath = (path: string): string => QUOTA_ZOOKEEPER + path;
export const quotaLimitPath = (path: string): string => `${QUOTA_ZOOKEEPER}${path}/${LIMIT_NODE}`;
export const quotaStatPath = (path: string): string => `${QUOTA_ZOOKEEPER}${path}/${STAT_NODE}`;
export const trimQuotaPath = (path: string): string => path.slice(QUOTA_ZOOKEEPER.length);

/**
 * The `count=..,bytes=..` text quota nodes hold. Missing keys read as -1 (no limit). Keys other than
 * count and bytes are kept (countHardLimit, byteHardLimit).
 */
export class StatsTrack {
  readonly values = new Map<string, number>();

  constructor(text = '') {
    if (text.length === 0) return;
    for (const pair of text.split(/[,;]+/)) {
      if (pair === '') continue;
      const kv = pair.split('=');
      const key = kv[0] ?? '';
      const raw = kv[1] ?? '';
      this.values.set(key, raw === '' ? -1 : Number.parseInt(raw, 10));
    }
  }

  private get(key: string): number {
    return this.values.get(key) ?? -1;
  }
  get count(): number {
    return this.get('count');
  }
  set count(v: number) {
    this.values.set('count', v);
  }
  get bytes(): number {
    return this.get('bytes');
  }
  set bytes(v: number) {
    this.values.set('bytes', v);
  }
  get countHardLimit(): number {
    return this.get('countHardLimit');
  }
  set countHardLimit(v: number) {
    this.values.set('countHardLimit', v);
  }
  get byteHardLimit(): number {
    return this.get('byteHardLimit');
  }
  set byteHardLimit(v: number) {
    this.values.set('byteHardLimit', v);
  }

  /** ZooKeeper's exact text form (including its `=` before extra keys). */
  toString(): string {
    let s = `count=${this.count},bytes=${this.bytes}`;
    const extra = [...this.values.keys()].filter((k) => k !== 'count' && k !== 'bytes').sort();
    if (extra.length > 0) {
      s += '=';
      for (const k of extra) s += `;${k}=${this.values.get(k)}`;
    }
    return s;
  }
}

/** What listquota shows for a path: its limits and its current usage, or undefined without a quota. */
export interface QuotaInfo {
  path: string;
  limit: StatsTrack;
  usage: StatsTrack;
}
