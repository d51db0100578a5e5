import type { Config } from 'jest';

/**
 * NestJS 12 ships as ES modules, so Jest runs in its native ESM mode
 * (`node --experimental-vm-modules`, see `npm test`) and ts-jest emits ESM.
 * Type checking is done once by `tsc --noEmit` in `npm test`, so ts-jest only
 * transpiles (isolatedModules), which keeps the suite fast.
 *
 * Two projects, split by folder (docs/testing.md, "Contributing: this repository's tests"):
 * - `no-server`: everything under test/ but the folders below. `npm run test:unit` runs it alone, through
 *   jest.unit.config.ts (`--selectProjects` would take the paths given after it for project names).
 * - `server`: the folders that start a redis-server (test/redis/) or install the packed package with npm
 *   (test/package/). test/unit/architecture.spec.ts checks that no spec outside them reaches their helpers.
 * `npm test` runs both; a path argument (`npm test -- test/e2e/guard`) filters either.
 */
export const SERVER_SUITES = ['test/redis/', 'test/package/'] as const;

const shared: Config = {
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^restflow-throttle$': '<rootDir>/lib/index.ts',
  },
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        useESM: true,
        tsconfig: {
          module: 'esnext',
          moduleResolution: 'bundler',
          target: 'ES2022',
          strict: true,
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          esModuleInterop: true,
          isolatedModules: true,
          skipLibCheck: true,
          types: ['node', 'jest'],
        },
      },
    ],
  },
};

/** The specs that need no server: all of test/ but SERVER_SUITES. */
export const NO_SERVER: Config = {
  ...shared,
  displayName: 'no-server',
  roots: ['<rootDir>/test'],
  testPathIgnorePatterns: ['/node_modules/', ...SERVER_SUITES.map((folder) => `<rootDir>/${folder}`)],
};

/** Options that hold for the whole run, whichever projects it has. */
export const RUN: Config = { testTimeout: 30_000, maxWorkers: 2 };

const config: Config = {
  projects: [
    NO_SERVER,
    {
      ...shared,
      displayName: 'server',
      roots: SERVER_SUITES.map((folder) => `<rootDir>/${folder}`),
      testPathIgnorePatterns: ['/node_modules/'],
    },
  ],
  ...RUN,
};

export default config;
