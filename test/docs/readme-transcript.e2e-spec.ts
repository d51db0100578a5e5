/**
 * The README's `curl` transcript was pasted from a real run of `npm start`;
 * this replays its commands against the sample, so the transcript stays what
 * the sample answers: each status, `Retry-After` (or its absence) and body.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/processes/app-process';
import { codeBlocks } from '../helpers/readme-blocks';
import { startSample, type SampleTestApp } from '../helpers/sample-app';

interface Exchange {
  command: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  status: number;
  retryAfter: string | null;
  body: unknown;
}

/** `$ curl -i [-X M] [-H 'K: V']... localhost:3000/path` followed by the raw response. */
function exchanges(transcript: string): Exchange[] {
  return transcript
    .split(/^(?=\$ curl )/m)
    .filter((part) => part.startsWith('$ curl '))
    .map((part) => {
      const [command, ...response] = part.trimEnd().split('\n');
      const method = /-X (\w+)/.exec(command)?.[1] ?? 'GET';
      const headers = Object.fromEntries(
        [...command.matchAll(/-H '([^:]+): ([^']*)'/g)].map((m) => [m[1].toLowerCase(), m[2]]),
      );
      const path = /localhost:\d+(\/\S*)/.exec(command)?.[1];
      const statusLine = /^HTTP\/1\.1 (\d{3})/.exec(response[0] ?? '');
      if (path === undefined || statusLine === null)
        throw new Error(`cannot read this part of the transcript:\n${part}`);
      const retryAfter =
        response
          .find((line) => /^retry-after:/i.test(line))
          ?.split(':')[1]
          .trim() ?? null;
      return {
        command,
        method,
        path,
        headers,
        status: Number(statusLine[1]),
        retryAfter,
        body: JSON.parse(response[response.length - 1]),
      };
    });
}

const transcript = codeBlocks(readFileSync(join(repoRoot(), 'README.md'), 'utf8')).find(
  (block) => block.lang === 'text' && block.code.startsWith('$ curl '),
);

describe('the README curl transcript', () => {
  let t: SampleTestApp;
  beforeAll(async () => {
    t = await startSample('express');
  });
  afterAll(() => t.close());

  it('shows 200s, then a 429 with Retry-After and body', () => {
    const seen = exchanges(transcript?.code ?? '').map((e) => [e.status, e.retryAfter]);
    expect(seen).toEqual(
      expect.arrayContaining([
        [200, null],
        [429, '60'],
      ]),
    );
  });

  it('is what the sample answers, request after request', async () => {
    for (const exchange of exchanges(transcript?.code ?? '')) {
      const response = await t.request(exchange.path, { method: exchange.method, headers: exchange.headers });
      expect({
        command: exchange.command,
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        body: response.body,
      }).toEqual({
        command: exchange.command,
        status: exchange.status,
        retryAfter: exchange.retryAfter,
        body: exchange.body,
      });
    }
  });
});
