/**
 * Zab core throughput: commits per second of the sans-I/O state machines alone — a leader and its
 * followers in one process, messages handed over in memory, every disk write reported durable at
 * once. No sockets, no files, no framing: this is the ceiling the protocol core puts on a server.
 *
 *   pnpm --filter @zkts/bench run bench zab [--ms 1000] [--size 100] [--window 1,100]
 */
import { ZabFollower, ZabLeader, type ZabMessage, type ZabOutput } from '@zkts/zab';

type Core = ZabLeader | ZabFollower;
interface Envelope {
  from: number;
  to: number;
  msg: ZabMessage;
}

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback;
}

class Ensemble {
  readonly cores = new Map<number, Core>();
  readonly leader: ZabLeader;
  private queue: Envelope[] = [];
  private readonly durable = new Map<number, number>();
  commits = 0;
  messages = 0;
  writes = 0;

  constructor(size: number) {
    const voters = Array.from({ length: size }, (_, i) => i + 1);
    const disk = { acceptedEpoch: 0n, currentEpoch: 0n, snapshotZxid: 0n, log: [] };
    const config = { voters, maxOutstanding: 100_000 };
    this.leader = new ZabLeader({ ...config, myId: 1 }, disk);
    this.cores.set(1, this.leader);
    for (const id of voters.slice(1))
      this.cores.set(id, new ZabFollower({ ...config, myId: id, leaderId: 1 }, disk));
    for (const [id, core] of this.cores) this.handle(id, core.step({ type: 'start' }));
    this.pump();
    if (this.leader.phase !== 'broadcast') throw new Error(`leader did not establish: ${this.leader.phase}`);
  }

  handle(id: number, outs: readonly ZabOutput[]): void {
    for (const o of outs) {
      switch (o.type) {
        case 'send':
          this.queue.push({ from: id, to: o.to, msg: o.msg });
          break;
        case 'disk':
          this.writes++;
          this.durable.set(id, o.seq);
          break;
        case 'apply':
          if (id === 1) this.commits++;
          break;
        case 'lookForLeader':
          throw new Error(`server ${id} stopped: ${o.reason} ${o.detail}`);
        default:
          break;
      }
    }
  }

  /** Delivers every message and completes every write until the ensemble is quiet. */
  pump(): void {
    for (;;) {
      if (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        this.messages += batch.length;
        for (const e of batch) {
          const core = this.cores.get(e.to) as Core;
          this.handle(e.to, core.step({ type: 'message', from: e.from, msg: e.msg }));
        }
        continue;
      }
      if (this.durable.size === 0) return;
      const done = [...this.durable];
      this.durable.clear();
      for (const [id, seq] of done)
        this.handle(id, (this.cores.get(id) as Core).step({ type: 'diskDone', seq }));
    }
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export async function run(args: string[]): Promise<void> {
  const ms = Number(option(args, '--ms', '1000'));
  const size = Number(option(args, '--size', '100'));
  const windows = option(args, '--window', '1,100')
    .split(',')
    .map(Number)
    .filter((w) => w > 0);
  const payload = new Uint8Array(size).fill(0x61);
  const rows: string[][] = [['servers', 'in flight', 'commits/s', 'messages/commit', 'writes/commit']];
  for (const servers of [3, 5]) {
    for (const window of windows) {
      // Warm up, then measure on a fresh ensemble.
      for (const timed of [false, true]) {
        const e = new Ensemble(servers);
        const limit = timed ? ms : Math.min(200, ms);
        const start = process.hrtime.bigint();
        let elapsedMs = 0;
        while (elapsedMs < limit) {
          for (let i = 0; i < window; i++) e.handle(1, e.leader.step({ type: 'propose', data: payload }));
          e.pump();
          elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
        }
        if (!timed) continue;
        rows.push([
          String(servers),
          String(window),
          fmt((e.commits * 1000) / elapsedMs),
          (e.messages / e.commits).toFixed(1),
          (e.writes / e.commits).toFixed(1),
        ]);
      }
    }
  }
  const widths = (rows[0] as string[]).map((_, c) => Math.max(...rows.map((r) => (r[c] as string).length)));
  for (const r of rows)
    process.stdout.write(`${r.map((x, c) => x.padStart(widths[c] as number)).join('  ')}\n`);
  process.stdout.write(
    `\n${size}-byte payloads, ${ms} ms per row; Zab core only (no I/O, disk writes durable at once).\n`,
  );
}
