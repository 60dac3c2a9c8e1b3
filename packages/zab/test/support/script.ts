import { makeZxid, type Txn } from '../../src/index.js';
import { type Disk, emptyDisk } from './host.js';
import type { Net } from './net.js';

/** `1.3` → zxid of epoch 1, counter 3, with payload `1.3`. */
function txn(spec: string): Txn<string> {
  const [e, c] = spec.split('.');
  if (e === undefined || c === undefined) throw new Error(`bad txn ${spec}`);
  return { zxid: makeZxid(BigInt(e), BigInt(c)), data: spec };
}

function txns(spec: string | undefined): Txn<string>[] {
  if (spec === undefined || spec === '') return [];
  return spec.split(',').map(txn);
}

function ids(spec: string | undefined): number[] {
  if (spec === undefined || spec === '') return [];
  return spec.split(',').map(Number);
}

/**
 * Runs one transcript command against `net` and returns its output lines. Commands:
 * `ensemble voters=1,2,3 [observers=4] [initLimit=10] [syncLimit=5]`,
 * `disk ID [accepted=E] [current=E] [snap=1.1,1.2] [log=1.3,1.4]`,
 * `lead ID`, `follow ID leader=L`, `observe ID leader=L`, `propose ID DATA...`,
 * `deliver [from=A] [to=B]`, `drop [from=A] [to=B]`, `sync [ID]`, `tick [ID] [n=N]`,
 * `stabilize`, `crash ID`, `compact ID`, `partition 1 | 2 3`, `heal`, `status`.
 */
export function interpret(net: Net, command: string): string[] {
  const words = command.trim().split(/\s+/);
  const name = words[0] as string;
  const kv = new Map<string, string>();
  const pos: string[] = [];
  for (const w of words.slice(1)) {
    const eq = w.indexOf('=');
    if (eq > 0) kv.set(w.slice(0, eq), w.slice(eq + 1));
    else pos.push(w);
  }
  const id = pos[0] === undefined ? undefined : Number(pos[0]);
  const need = (): number => {
    if (id === undefined || Number.isNaN(id)) throw new Error(`${name}: needs a server id`);
    return id;
  };
  const num = (k: string): number | undefined => (kv.has(k) ? Number(kv.get(k)) : undefined);
  switch (name) {
    case 'ensemble':
      net.cfg = {
        voters: ids(kv.get('voters')),
        observers: ids(kv.get('observers')),
        initLimit: num('initLimit') ?? 10,
        syncLimit: num('syncLimit') ?? 5,
      };
      for (const v of [...net.cfg.voters, ...net.cfg.observers]) net.host(v);
      break;
    case 'disk': {
      const snap = txns(kv.get('snap'));
      const disk: Disk = {
        ...emptyDisk(),
        acceptedEpoch: BigInt(kv.get('accepted') ?? '0'),
        currentEpoch: BigInt(kv.get('current') ?? '0'),
        snapshot: { zxid: snap.length > 0 ? (snap[snap.length - 1] as Txn<string>).zxid : 0n, state: snap },
        log: txns(kv.get('log')),
      };
      net.setDisk(need(), disk);
      break;
    }
    case 'lead':
      net.print(need(), net.host(need()).become('leading', need()));
      break;
    case 'follow':
    case 'observe': {
      const leader = num('leader');
      if (leader === undefined) throw new Error(`${name}: needs leader=`);
      net.print(need(), net.host(need()).become(name === 'follow' ? 'following' : 'observing', leader));
      break;
    }
    case 'propose':
      for (const data of pos.slice(1)) net.print(need(), net.host(need()).step({ type: 'propose', data }));
      break;
    case 'deliver': {
      const from = num('from');
      const to = num('to');
      net.deliver({ ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) });
      break;
    }
    case 'drop': {
      const from = num('from');
      const to = num('to');
      net.drop({ ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) });
      break;
    }
    case 'sync':
      net.sync(id);
      break;
    case 'tick':
      net.tick(id, num('n') ?? 1);
      break;
    case 'stabilize':
      net.stabilize();
      break;
    case 'crash':
      net.crash(need());
      break;
    case 'compact':
      net.print(need(), net.host(need()).compact());
      break;
    case 'partition': {
      const groups = words
        .slice(1)
        .join(' ')
        .split('|')
        .map((g) => g.trim().split(/\s+/).filter(Boolean).map(Number));
      net.partition(groups);
      break;
    }
    case 'heal':
      net.heal();
      break;
    case 'status':
      net.status();
      break;
    default:
      throw new Error(`unknown command ${name}`);
  }
  return net.take();
}
