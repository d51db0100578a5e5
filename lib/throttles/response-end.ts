/**
 * The end of an HTTP response, on Express and Fastify alike: sent with a status, or cut short before it was
 * sent. For throttles that count a request by how it ended (the brute-force throttle), read after the guard.
 */
import type { ServerResponse } from 'node:http';

/**
 * The Node response under the platform's: Express's `res` is one, Fastify's reply holds it as `raw`.
 * `undefined` for anything else (a context that is not HTTP).
 */
export function rawResponse(response: unknown): ServerResponse | undefined {
  if (typeof response !== 'object' || response === null) return undefined;
  const raw = (response as { raw?: unknown }).raw;
  const candidate = typeof raw === 'object' && raw !== null ? raw : response;
  const node = candidate as Partial<ServerResponse>;
  return typeof node.once === 'function' && typeof node.statusCode === 'number'
    ? (candidate as ServerResponse)
    : undefined;
}

/**
 * Calls `ended` once, when the response is over: with its status when it was sent whole (`finish`), or with
 * `undefined` when the connection closed first (the client went away, or the socket failed), in which case
 * nobody knows what the answer would have been.
 */
export function onResponseEnd(response: ServerResponse, ended: (status: number | undefined) => void): void {
  let done = false;
  const end = (sent: boolean): void => {
    if (done) return;
    done = true;
    ended(sent ? response.statusCode : undefined);
  };
  response.once('finish', () => end(true));
  // Node emits `close` after `finish`, and alone when the connection ends first; `writableFinished` tells them apart
  // should `close` ever come first for a response that was sent.
  response.once('close', () => end(response.writableFinished));
}
