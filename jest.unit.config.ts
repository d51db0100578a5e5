import type { Config } from 'jest';
import { NO_SERVER, RUN } from './jest.config';

/**
 * `npm run test:unit`: the `no-server` project of jest.config.ts on its own, every spec that needs no
 * redis-server and no package install. A config of its own rather than `--selectProjects no-server`, so that
 * `npm run test:unit -- test/e2e/guard` reads the path as a path.
 */
const config: Config = { ...NO_SERVER, ...RUN };

export default config;
