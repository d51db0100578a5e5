import type { INestApplication, LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import type { SampleSettings } from './config/sample-settings';

/**
 * Creates the sample application (not yet listening), on Express or
 * Fastify. `main.ts` uses it, and so do the e2e tests, which therefore run
 * the sample itself.
 */
export async function createSampleApp(
  settings: SampleSettings,
  logger?: LoggerService | LogLevel[] | false,
): Promise<INestApplication> {
  const module = AppModule.register(settings);
  // abortOnError off: a configuration error (say, a missing rate) rejects with its message
  // instead of aborting the process.
  const options = { abortOnError: false, ...(logger === undefined ? {} : { logger }) };
  return settings.platform === 'fastify'
    ? NestFactory.create(module, new FastifyAdapter(), options)
    : NestFactory.create(module, options);
}
