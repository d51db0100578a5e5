import type { Config } from 'jest';

/**
 * NestJS 12 ships as ES modules, so Jest runs in its native ESM mode
 * (`node --experimental-vm-modules`, see `npm test`) and ts-jest emits ESM.
 * Type checking is done once by `tsc --noEmit` in `npm test`, so ts-jest only
 * transpiles (isolatedModules), which keeps the suite fast.
 */
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
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
  testTimeout: 30_000,
  maxWorkers: 2,
};

export default config;
