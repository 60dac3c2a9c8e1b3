import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runFile } from './support/datadriven.js';
import { Net } from './support/net.js';
import { interpret } from './support/script.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'testdata');
const update = process.env.ZKTS_UPDATE_GOLDEN === '1';

describe('golden transcripts (testdata/*.txt; regenerate with ZKTS_UPDATE_GOLDEN=1)', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.txt'));
  it('has transcripts', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });
  for (const f of files) {
    it(f, () => {
      const net = new Net();
      const bad = runFile(join(dir, f), (cmd) => interpret(net, cmd), update);
      for (const b of bad) {
        expect.soft(b.actual, `${f}: ${b.command}`).toBe(b.expected);
      }
      expect(bad.length).toBe(0);
    });
  }
});
