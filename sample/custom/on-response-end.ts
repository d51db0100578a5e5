import type { ExecutionContext } from '@nestjs/common';
import type { ServerResponse } from 'node:http';

/**
 * Runs `callback` once when the response of this request is over: sent
 * (`finish`), or cut short by an error or a client that went away (`close`).
 * Works on Express (the response is a Node `ServerResponse`) and on Fastify
 * (the reply wraps one as `reply.raw`).
 */
export function onResponseEnd(context: ExecutionContext, callback: () => void): void {
  const response = context.switchToHttp().getResponse<ServerResponse | { raw: ServerResponse }>();
  const raw = 'raw' in response ? response.raw : response;
  let called = false;
  const once = () => {
    if (called) return;
    called = true;
    callback();
  };
  raw.once('finish', once);
  // Node emits `close` after `finish`, and alone when the connection dies first.
  raw.once('close', once);
}
