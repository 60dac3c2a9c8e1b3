/**
 * Ten workers, each with its own ZooKeeper session, take the same distributed lock in turn and
 * decrement a counter that starts at 500 (the classic ZooKeeper lock demo).
 *
 *   pnpm --filter @zkts/recipes example:lock-counter [host:port] [workers] [rounds]
 */
import { createClient } from '@zkts/client';
import { Lock } from '@zkts/recipes';

const server = process.argv[2] ?? '127.0.0.1:2181';
const workers = Number(process.argv[3] ?? 10);
const rounds = Number(process.argv[4] ?? 1);

let n = 500;

/** The critical section: an unguarded read-modify-write with a pause in the middle. */
async function secKill(worker: string): Promise<void> {
  const seen = n;
  await new Promise((r) => setTimeout(r, 5));
  n = seen - 1;
  console.log(`${worker} n=${n}`);
}

async function worker(i: number): Promise<void> {
  const name = `worker-${i}`;
  const zk = createClient(server, { sessionTimeout: 10_000 });
  await zk.connect();
  try {
    for (let r = 0; r < rounds; r++) {
      const lock = new Lock(zk, '/locks/test1');
      lock.on('lost', () => console.log(`${name} lost its session while holding the lock`));
      await lock.acquire();
      console.log(`${name} acquired ${lock.nodePath}`);
      try {
        await secKill(name);
      } finally {
        await lock.release();
      }
    }
  } finally {
    await zk.close();
  }
}

await Promise.all(Array.from({ length: workers }, (_, i) => worker(i)));
console.log(`final n=${n} (expected ${500 - workers * rounds})`);
process.exitCode = n === 500 - workers * rounds ? 0 : 1;
