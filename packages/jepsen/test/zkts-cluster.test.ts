import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot, zktsServerMain } from '../src/index.js';

describe('ZktsCluster', () => {
  it('finds the repository and the server entry point relative to the package', () => {
    expect(existsSync(join(repositoryRoot(), 'pnpm-workspace.yaml'))).toBe(true);
    expect(zktsServerMain()).toBe(join(repositoryRoot(), 'apps', 'server', 'dist', 'main.js'));
  });
});
