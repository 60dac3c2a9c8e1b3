/**
 * ZooKeeper's metrics for zkts: the `mntr` figures and the Prometheus exposition (prom-client),
 * under ZooKeeper's names and with its metric types, so that ZooKeeper's Grafana dashboards and
 * alert rules work unchanged.
 *
 * Latencies are summaries as ZooKeeper's Prometheus provider exports them (quantiles 0.5, 0.9 and
 * 0.99 for its detailed ones, 0.5 for the others, over a ten-minute window). The server keeps
 * count, total, min and max per latency; the summaries are fed from those figures a few times a
 * second (each request in a period is observed at the period's mean), so `_count` and `_sum` are
 * exact and the quantiles are close to the per-request ones.
 */

import { readdirSync, readFileSync } from 'node:fs';
import type { ZkServer } from '@zkts/server';
import { Counter, collectDefaultMetrics, Gauge, Registry, Summary } from 'prom-client';
import { ZK_COUNTERS, ZK_GAUGES, ZK_SUMMARIES } from './catalog.js';
import { JavaDouble, type JsonValue } from './json.js';

interface LatencyLike {
  readonly count: number;
  readonly total: number;
  readonly max: number;
  readonly minOrZero: number;
  readonly avg: number;
}

/** How many observations one feeding step makes at most per summary (bounds the work per step). */
const MAX_OBSERVATIONS_PER_STEP = 50_000;
const FEED_INTERVAL_MS = 250;

export interface MetricsOptions {
  /** Also export Node process metrics (prom-client's defaults), as ZooKeeper exports JVM ones. */
  exportProcessInfo?: boolean;
}

export function openFileDescriptorCount(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

export function maxFileDescriptorCount(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

export class Metrics {
  readonly registry = new Registry();
  private readonly gauges = new Map<string, Gauge>();
  private readonly counters = new Map<string, { metric: Counter; last: number }>();
  private readonly summaries = new Map<string, Summary>();
  /** The same distributions with `mntr`'s percentiles (p50, p95, p99, p999); not exported. */
  private readonly percentiles = new Map<string, Summary>();
  private readonly fed = new Map<string, { count: number; total: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly server: ZkServer,
    options: MetricsOptions = {},
  ) {
    for (const name of ZK_GAUGES) {
      const g = new Gauge({ name, help: name, registers: [this.registry] });
      this.gauges.set(name, g);
    }
    for (const name of ZK_COUNTERS) {
      const c = new Counter({ name, help: name, registers: [this.registry] });
      this.counters.set(name, { metric: c, last: 0 });
    }
    for (const [name, detailed] of ZK_SUMMARIES) {
      const s = new Summary({
        name,
        help: name,
        percentiles: detailed ? [0.5, 0.9, 0.99] : [0.5],
        maxAgeSeconds: 600,
        ageBuckets: 5,
        registers: [this.registry],
      });
      this.summaries.set(name, s);
      if (detailed) {
        const p = new Summary({
          name: `mntr_${name}`,
          help: name,
          percentiles: [0.5, 0.95, 0.99, 0.999],
          maxAgeSeconds: 600,
          ageBuckets: 5,
          registers: [],
        });
        this.percentiles.set(name, p);
      }
    }
    if (options.exportProcessInfo ?? true) collectDefaultMetrics({ register: this.registry });
    this.timer = setInterval(() => this.feed(), FEED_INTERVAL_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** The latencies the server measures, by ZooKeeper's summary name. */
  private latencies(): Array<[string, LatencyLike]> {
    const c = this.server.counters;
    return [
      ['fsynctime', c.fsyncTime],
      ['readlatency', c.readLatency],
      ['updatelatency', c.updateLatency],
    ];
  }

  /** Moves what the server counted since the last step into the summaries. */
  feed(): void {
    for (const [name, stats] of this.latencies()) {
      const summary = this.summaries.get(name);
      if (summary === undefined) continue;
      const mntr = this.percentiles.get(name);
      const prev = this.fed.get(name) ?? { count: 0, total: 0 };
      // A reset (srst) starts the server's figures again from zero.
      const base = stats.count < prev.count ? { count: 0, total: 0 } : prev;
      const n = stats.count - base.count;
      if (n > 0) {
        const mean = (stats.total - base.total) / n;
        for (let i = 0; i < Math.min(n, MAX_OBSERVATIONS_PER_STEP); i++) {
          summary.observe(mean);
          mntr?.observe(mean);
        }
      }
      this.fed.set(name, { count: stats.count, total: stats.total });
    }
  }

  /** Current gauge and counter figures by ZooKeeper name (`mntr` without the `zk_` prefix). */
  private figures(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, v] of this.server.monitorValues()) {
      if (typeof v === 'number') out.set(k, v);
      else if (typeof v === 'bigint') out.set(k, Number(v));
    }
    const tree = this.server.tree;
    out.set('approximate_data_size', tree.approximateDataSize());
    out.set('ephemerals_count', tree.ephemeralCount);
    out.set('open_file_descriptor_count', openFileDescriptorCount());
    out.set('max_file_descriptor_count', maxFileDescriptorCount());
    out.set('last_client_response_size', -1);
    out.set('min_client_response_size', -1);
    out.set('max_client_response_size', -1);
    const c = this.server.counters;
    out.set('connection_drop_count', c.connectionDropCount);
    out.set('stale_sessions_expired', c.staleSessionsExpired);
    return out;
  }

  /** Brings gauges and counters up to date with the server. */
  private refresh(): Map<string, number> {
    this.feed();
    const figures = this.figures();
    for (const [name, g] of this.gauges) g.set(figures.get(name) ?? 0);
    for (const [name, entry] of this.counters) {
      const v = figures.get(name) ?? 0;
      if (v > entry.last) entry.metric.inc(v - entry.last);
      entry.last = Math.max(entry.last, v);
    }
    return figures;
  }

  /** The Prometheus text exposition. */
  async exposition(): Promise<string> {
    this.refresh();
    // prom-client writes a NaN sample (e.g. an event-loop figure before its first sample) as
    // `Nan`, which Prometheus's parser rejects; the format spells it `NaN`.
    return (await this.registry.metrics()).replace(/ Nan$/gm, ' NaN');
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every `mntr` figure ZooKeeper 3.8 reports, in its order of kinds. */
  async monitor(): Promise<Array<[string, JsonValue]>> {
    const figures = this.refresh();
    const values = new Map(this.server.monitorValues());
    const out: Array<[string, JsonValue]> = [
      ['version', String(values.get('version') ?? '')],
      ['server_state', String(values.get('server_state') ?? '')],
    ];
    for (const name of ZK_GAUGES) {
      const v = figures.get(name) ?? 0;
      out.push([
        name,
        name === 'avg_latency' || name === 'connection_drop_probability' ? new JavaDouble(v) : v,
      ]);
    }
    for (const name of ZK_COUNTERS) out.push([name, this.counters.get(name)?.last ?? figures.get(name) ?? 0]);
    const measured = new Map(this.latencies());
    for (const [name, detailed] of ZK_SUMMARIES) {
      const s = measured.get(name);
      out.push([`avg_${name}`, new JavaDouble(s?.avg ?? 0)]);
      out.push([`min_${name}`, s?.minOrZero ?? 0]);
      out.push([`max_${name}`, s?.max ?? 0]);
      out.push([`cnt_${name}`, s?.count ?? 0]);
      out.push([`sum_${name}`, s?.total ?? 0]);
      if (detailed) {
        const q = await this.quantiles(name);
        out.push([`p50_${name}`, q.get(0.5) ?? 0]);
        out.push([`p95_${name}`, q.get(0.95) ?? 0]);
        out.push([`p99_${name}`, q.get(0.99) ?? 0]);
        out.push([`p999_${name}`, q.get(0.999) ?? 0]);
      }
    }
    return out;
  }

  private async quantiles(name: string): Promise<Map<number, number>> {
    const s = this.percentiles.get(name);
    const out = new Map<number, number>();
    if (s === undefined) return out;
    const got = await s.get();
    for (const v of got.values) {
      const q = v.labels.quantile;
      if (typeof q === 'number' && Number.isFinite(v.value)) out.set(q, Math.round(v.value));
    }
    return out;
  }
}
