import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { ThrottleAdmin, type ThrottleClient } from 'restflow-throttle';

/** The Redis the processes share, for the broadcast's own two connections. */
export const THROTTLE_RESETS_REDIS_URL = Symbol('THROTTLE_RESETS_REDIS_URL');

const CHANNEL = 'throttle-resets';

/**
 * A reset published by any process runs in every process, so each one
 * forgets the refusals it remembers of the key (the Redis store's refusal
 * cache), not only the process support staff happened to reach
 * (docs/admin.md, "Several processes and the refusal cache").
 * `test/redis/throttle-admin.e2e-spec.ts` runs it between two apps.
 */
@Injectable()
export class ThrottleResetBroadcast implements OnModuleInit, OnApplicationShutdown {
  private readonly subscriber: Redis;
  private readonly publisher: Redis;

  constructor(
    private readonly admin: ThrottleAdmin,
    @Inject(THROTTLE_RESETS_REDIS_URL) redisUrl: string,
  ) {
    this.subscriber = new Redis(redisUrl);
    this.publisher = this.subscriber.duplicate();
  }

  async onModuleInit(): Promise<void> {
    this.subscriber.on('message', (_channel: string, message: string) => {
      const { scope, client } = JSON.parse(message) as { scope: string; client: ThrottleClient };
      // Each process resets its own refusal cache (and Redis again, which is harmless).
      this.admin.reset(scope, client).catch(() => undefined);
    });
    await this.subscriber.subscribe(CHANNEL);
  }

  /** What support staff call instead of `admin.reset()`: the client is reset in every process. */
  async reset(scope: string, client: ThrottleClient): Promise<void> {
    await this.publisher.publish(CHANNEL, JSON.stringify({ scope, client }));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.subscriber.quit(), this.publisher.quit()]);
  }
}
