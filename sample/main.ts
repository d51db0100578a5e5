import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { createSampleApp } from './app.factory';
import { settingsFromEnv } from './config/sample-settings';

/**
 * `npm start`: the sample on PORT (3000), Express (or `PLATFORM=fastify`),
 * in-memory counters (or Redis with `REDIS_URL`).
 */
async function main(): Promise<void> {
  const settings = settingsFromEnv(process.env);
  const app = await createSampleApp(settings);
  app.enableShutdownHooks();
  await app.listen(settings.port, settings.host);
  const { port } = app.getHttpServer().address() as AddressInfo;
  const cache = settings.redisUrl ? 'Redis' : 'in-memory';
  new Logger('Sample').log(
    `http://localhost:${port} on ${settings.platform}, ${cache} cache. Try: curl -i http://localhost:${port}/articles`,
  );
}

main().catch((error: unknown) => {
  // A configuration error (a missing rate, a bad PORT) ends the process with its message.
  console.error(error);
  process.exit(1);
});
