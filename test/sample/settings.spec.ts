/** How `npm start` reads its environment (sample/config/sample-settings.ts). */
import { settingsFromEnv } from '../../sample/config/sample-settings';

describe('settingsFromEnv', () => {
  it('defaults to Express on port 3000, in memory, no proxies, no maintenance', () => {
    expect(settingsFromEnv({})).toEqual({
      platform: 'express',
      port: 3000,
      host: '0.0.0.0',
      redisUrl: undefined,
      numProxies: undefined,
      processes: 1,
      maintenance: false,
    });
  });

  it('reads PORT, HOST, PLATFORM, REDIS_URL, NUM_PROXIES, PROCESSES and MAINTENANCE', () => {
    expect(
      settingsFromEnv({
        PORT: '8080',
        HOST: '127.0.0.1',
        PLATFORM: 'Fastify',
        REDIS_URL: 'redis://localhost:6379/0',
        NUM_PROXIES: '2',
        PROCESSES: '4',
        MAINTENANCE: 'on',
      }),
    ).toEqual({
      platform: 'fastify',
      port: 8080,
      host: '127.0.0.1',
      redisUrl: 'redis://localhost:6379/0',
      numProxies: 2,
      processes: 4,
      maintenance: true,
    });
  });

  it('treats empty variables as unset', () => {
    expect(settingsFromEnv({ PORT: '', REDIS_URL: '', NUM_PROXIES: '', PROCESSES: '' })).toMatchObject({
      port: 3000,
      redisUrl: undefined,
      numProxies: undefined,
      processes: 1,
    });
  });

  it('refuses a PORT that is not a port', () => {
    expect(() => settingsFromEnv({ PORT: 'http' })).toThrow("PORT must be a port number, got 'http'.");
    expect(() => settingsFromEnv({ PORT: '70000' })).toThrow('PORT must be a port number');
  });
});
