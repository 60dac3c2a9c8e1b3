import type { UserWorkspaceConfig } from 'vitest/config';

/** Test settings every package shares: resolve workspace packages to their sources. */
export function projectConfig(
  name: string,
  overrides: UserWorkspaceConfig['test'] = {},
): UserWorkspaceConfig {
  return {
    resolve: { conditions: ['@zkts/source'] },
    ssr: { resolve: { conditions: ['@zkts/source'], externalConditions: ['@zkts/source'] } },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      environment: 'node',
      testTimeout: 30_000,
      hookTimeout: 60_000,
      ...overrides,
    },
  };
}
