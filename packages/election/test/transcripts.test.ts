import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Simulation } from '@zkts/sim';
import { describe, expect, it } from 'vitest';
import {
  type ElectionOutput,
  electionProtocol,
  FastLeaderElection,
  hex,
  type MemberMessage,
  type PersistedElectionState,
  type ServerState,
  type SimMember,
} from '../src/index.js';

/**
 * Golden transcripts in the style of etcd/raft's testdata: each block is a command, a `----`
 * line and the output it must produce. `ZKTS_REWRITE=1` regenerates the expected outputs. `#` lines
 * open a file (its header) or precede a command (a comment on it).
 *
 * Single-server commands (the state machine alone):
 *   server id=3 voters=1,2,3 [observers=4] [finalize=200] [max=60000] [early=off]
 *   start epoch=0 zxid=0x0
 *   recv from=1 leader=2 zxid=0x0 round=0x1 state=FOLLOWING epoch=0x1
 *   timeout notification|finalize
 *   reach 2 down|up    the adapter reports server 2 unreachable / reachable
 *   status
 * Cluster commands (the simulator, delays 1..5 ms, no faults unless scripted):
 *   cluster voters=1,2,3 [finalize=200] [seed=1] [early=off]
 *   boot 1 2          start servers now
 *   run 1000          advance the simulated clock by 1000 ms, print what happened
 *   crash 2 | partition 1,2 3 | heal
 *   status
 */

const DIR = join(import.meta.dirname, '..', 'testdata');
const REWRITE = process.env.ZKTS_REWRITE === '1';

interface Block {
  /** `#` lines just above the command (kept by a rewrite). */
  comment: string[];
  cmd: string;
  expected: string;
}

function parse(text: string): { header: string; blocks: Block[] } {
  const lines = text.split('\n');
  const header: string[] = [];
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length && (lines[i]!.startsWith('#') || lines[i]!.trim() === '')) header.push(lines[i++]!);
  let comment: string[] = [];
  while (i < lines.length) {
    if (lines[i]!.trim() === '') {
      i++;
      continue;
    }
    if (lines[i]!.startsWith('#')) {
      comment.push(lines[i++]!);
      continue;
    }
    const cmd = lines[i++]!;
    if (lines[i] !== '----') throw new Error(`expected ---- after "${cmd}"`);
    i++;
    const out: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '') out.push(lines[i++]!);
    blocks.push({ comment, cmd, expected: out.join('\n') });
    comment = [];
  }
  return { header: header.join('\n').trimEnd(), blocks };
}

function args(words: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq > 0) m.set(w.slice(0, eq), w.slice(eq + 1));
  }
  return m;
}

function need(a: Map<string, string>, key: string): string {
  const v = a.get(key);
  if (v === undefined) throw new Error(`missing ${key}=`);
  return v;
}

const ids = (s: string | undefined) => (s === undefined || s === '' ? [] : s.split(',').map(Number));

function renderOutputs(out: readonly ElectionOutput[]): string[] {
  return out.map((o) => {
    switch (o.type) {
      case 'send':
        return `send ${o.to}: ${o.n.state} leader=${o.n.leader} zxid=${hex(o.n.zxid)} round=${hex(o.n.electionEpoch)} epoch=${hex(o.n.peerEpoch)}`;
      case 'setTimer':
        return `timer ${o.timer} ${o.afterMs}`;
      case 'cancelTimer':
        return `cancel ${o.timer}`;
      case 'decided':
        return `decided ${o.state} leader=${o.vote.leader} round=${hex(o.vote.electionEpoch)} via ${o.path}${o.finalize === undefined ? '' : ` (${o.finalize})`} supporters=${o.supporters.join(',')}`;
      case 'log':
        return `log ${o.level}: ${o.message}`;
      default:
        return o satisfies never;
    }
  });
}

class Runner {
  private fle: FastLeaderElection | undefined;
  private sim: Simulation<SimMember, MemberMessage, PersistedElectionState> | undefined;
  private traced = 0;

  exec(cmd: string): string {
    const [verb, ...rest] = cmd.trim().split(/\s+/);
    const a = args(rest);
    switch (verb) {
      case 'server':
        this.fle = new FastLeaderElection({
          myId: Number(need(a, 'id')),
          voters: ids(a.get('voters')),
          observers: ids(a.get('observers')),
          finalizeWaitMs: a.has('finalize') ? Number(a.get('finalize')) : undefined,
          maxNotificationIntervalMs: a.has('max') ? Number(a.get('max')) : undefined,
          decideEarly: a.get('early') !== 'off',
        });
        return '(no output)';
      case 'start':
        return this.step({
          type: 'start',
          currentEpoch: BigInt(a.get('epoch') ?? '0'),
          lastZxid: BigInt(a.get('zxid') ?? '0'),
        });
      case 'recv':
        return this.step({
          type: 'notification',
          from: Number(need(a, 'from')),
          n: {
            version: 1,
            leader: Number(need(a, 'leader')),
            zxid: BigInt(a.get('zxid') ?? '0'),
            electionEpoch: BigInt(need(a, 'round')),
            peerEpoch: BigInt(a.get('epoch') ?? '0'),
            state: (a.get('state') ?? 'LOOKING') as ServerState,
          },
        });
      case 'timeout':
        return this.step({ type: 'timeout', timer: rest[0] === 'finalize' ? 'finalize' : 'notification' });
      case 'reach':
        if (rest[1] !== 'up' && rest[1] !== 'down') throw new Error('reach <sid> up|down');
        return this.step({ type: 'peerReachability', sid: Number(rest[0]), reachable: rest[1] === 'up' });
      case 'cluster': {
        const voters = ids(a.get('voters'));
        this.sim = new Simulation(
          electionProtocol(
            { voters, observers: ids(a.get('observers')) },
            {
              election: {
                finalizeWaitMs: a.has('finalize') ? Number(a.get('finalize')) : 200,
                decideEarly: a.get('early') !== 'off',
              },
              keepLogs: true,
            },
          ),
          {
            seed: Number(a.get('seed') ?? '1'),
            ids: [...voters, ...ids(a.get('observers'))],
            startAtMs: Object.fromEntries(
              [...voters, ...ids(a.get('observers'))].map((i) => [i, Number.POSITIVE_INFINITY]),
            ),
            network: { minDelayMs: 1, maxDelayMs: 5 },
            trace: 1_000_000,
          },
        );
        this.traced = 0;
        return '(no output)';
      }
      case 'boot':
        for (const id of rest) this.cluster().start(Number(id));
        return this.newTrace();
      case 'run':
        this.cluster().run(this.cluster().nowMs + Number(rest[0]));
        return this.newTrace();
      case 'crash':
        for (const id of rest) this.cluster().crash(Number(id));
        return this.newTrace();
      case 'partition':
        this.cluster().partition(rest.map(ids));
        return this.newTrace();
      case 'heal':
        this.cluster().heal();
        return this.newTrace();
      case 'status':
        return this.status();
      default:
        throw new Error(`unknown command ${verb}`);
    }
  }

  private step(input: Parameters<FastLeaderElection['step']>[0]): string {
    if (this.fle === undefined) throw new Error('no server');
    const lines = renderOutputs(this.fle.step(input));
    return lines.length === 0 ? '(no output)' : lines.join('\n');
  }

  private cluster() {
    if (this.sim === undefined) throw new Error('no cluster');
    return this.sim;
  }

  /** What happened since the last command, without the message-by-message chatter. */
  private newTrace(): string {
    const all = this.cluster().trace();
    const fresh = all.slice(this.traced);
    this.traced = all.length;
    const keep = fresh.filter((l) =>
      /ms (start|crash|partition|heal)|decided|Leading round|looking again|New election|Notification time out|ms \d+ (LEADING|FOLLOWING|OBSERVING)$/.test(
        l,
      ),
    );
    return keep.length === 0 ? '(no output)' : keep.join('\n');
  }

  private status(): string {
    if (this.fle !== undefined && this.sim === undefined) {
      const v = this.fle.currentVote;
      return `${this.fle.state} round=${hex(this.fle.logicalClock)} vote=(leader=${v.leader} zxid=${hex(v.zxid)} epoch=${hex(v.peerEpoch)}) timeout=${this.fle.notificationTimeoutMs}`;
    }
    const sim = this.cluster();
    return sim.options.ids
      .map((id) => {
        const m = sim.node(id);
        if (m === undefined) return `${id}: down`;
        const d = m.fle.decision;
        return `${id}: ${m.fle.state} round=${hex(m.fle.logicalClock)}${d ? ` leader=${d.vote.leader}` : ''}`;
      })
      .join('\n');
  }
}

describe('golden transcripts', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.txt'));
  it('has transcripts', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });
  for (const file of files) {
    it(file, () => {
      const path = join(DIR, file);
      const { header, blocks } = parse(readFileSync(path, 'utf8'));
      const runner = new Runner();
      const actual = blocks.map((b) => ({ ...b, got: runner.exec(b.cmd) }));
      if (REWRITE) {
        const body = actual.map((b) => [...b.comment, b.cmd, '----', b.got].join('\n')).join('\n\n');
        writeFileSync(path, `${header}\n\n${body}\n`);
        return;
      }
      for (const b of actual) expect(b.got, `${file}: ${b.cmd}`).toBe(b.expected);
    });
  }
});
