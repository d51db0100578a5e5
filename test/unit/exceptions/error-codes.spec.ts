/**
 * Configuration error codes: the list in lib/exceptions/error-codes.ts,
 * docs/errors.md and the throw sites in lib/ agree, and real mistakes raise
 * the right code, with Node's `Name [CODE]: message` as the stack's first line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Controller, Get, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  AnonRateThrottle,
  ImproperlyConfiguredError,
  MemoryThrottleStore,
  RestflowThrottleModule,
  SimpleRateThrottle,
  parseRate,
  type ConfigErrorCode,
  type RestflowThrottleOptions,
  type ThrottleRequest,
  type ThrottleStore,
} from 'restflow-throttle';
import { CONFIG_ERROR_CODES } from '../../../lib/exceptions/error-codes';
import { ThrottleStores } from '../../../lib/module/caches';
import { ThrottleSettings } from '../../../lib/module/settings';

// Jest runs from the repository root, as architecture.spec.ts assumes too.
const ROOT = process.cwd();
const LIB = join(ROOT, 'lib');
const CODES = Object.keys(CONFIG_ERROR_CODES);

/** The `## ` headings of docs/errors.md. */
function documentedCodes(): string[] {
  const markdown = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
  return [...markdown.matchAll(/^## (.+)$/gm)].map((m) => m[1].trim());
}

function libFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? libFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The error a call throws (or a promise rejects with), failing the test if there is none. */
async function thrown(run: () => unknown): Promise<ImproperlyConfiguredError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(ImproperlyConfiguredError);
    return error as ImproperlyConfiguredError;
  }
  throw new Error('expected an ImproperlyConfiguredError, nothing was thrown');
}

describe('the list of codes', () => {
  it('has codes, each RFT_ and upper case, each with a one-line summary', () => {
    expect(CODES.length).toBeGreaterThanOrEqual(10);
    for (const [code, summary] of Object.entries(CONFIG_ERROR_CODES)) {
      expect(code).toMatch(/^RFT_[A-Z0-9_]+$/);
      expect(summary).toMatch(/^\S.*\.$/);
      expect(summary).not.toContain('\n');
    }
  });

  it('docs/errors.md has one section per code, and no section for a code that does not exist', () => {
    const headings = documentedCodes();
    expect([...headings].sort()).toEqual([...CODES].sort());
    expect(new Set(headings).size).toBe(headings.length);
  });

  it('each section shows the message as a user sees it, with its code', () => {
    const markdown = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
    const sections = markdown.split(/^## /m).slice(1);
    for (const section of sections) {
      const code = section.slice(0, section.indexOf('\n')).trim();
      expect({ code, shows: section.includes(`ImproperlyConfiguredError [${code}]: `) }).toEqual({ code, shows: true });
      expect({ code, cause: section.includes('**Cause.**'), fix: section.includes('**Fix.**') }).toEqual({
        code,
        cause: true,
        fix: true,
      });
    }
  });
});

describe('the throw sites in lib/', () => {
  // Each `new ImproperlyConfiguredError(` up to its closing parenthesis (the arguments hold no `);`).
  const sites = libFiles(LIB).flatMap((file) => {
    const source = readFileSync(file, 'utf8');
    return [...source.matchAll(/new ImproperlyConfiguredError\(([\s\S]*?)\);/g)].map((m) => ({
      where: `${relative(ROOT, file)}:${source.slice(0, m.index).split('\n').length}`,
      args: m[1],
    }));
  });

  it('are found', () => {
    expect(sites.length).toBeGreaterThanOrEqual(10);
  });

  it('each pass a code literal that the list declares, or a typed code passed along', () => {
    const bad = sites.filter(({ args }) => {
      const literal = /,\s*['"](RFT_[A-Z0-9_]+)['"],?\s*$/.exec(args);
      if (literal !== null) return !CODES.includes(literal[1]);
      // options-validation's fail(message, code); an error reworded keeps the code of the one it wraps.
      return !/,\s*(?:code|[\w.]+\.code),?\s*$/.test(args);
    });
    expect(bad.map(({ where, args }) => `${where}: ${args.trim().slice(0, 80)}`)).toEqual([]);
  });

  it('every RFT_ code written in lib/ (such as those handed to fail()) is declared', () => {
    const unknown = libFiles(LIB).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/['"`](RFT_[A-Z0-9_]+)['"`]/g)]
        .map((m) => m[1])
        .filter((code) => !CODES.includes(code))
        .map((code) => `${relative(ROOT, file)}: ${code}`),
    );
    expect(unknown).toEqual([]);
  });
});

describe('the error', () => {
  it('keeps name and message, exposes code, and begins its stack and toString() with the code', () => {
    const message = "No default throttle rate set for 'x' scope";
    const error = new ImproperlyConfiguredError(message, 'RFT_MISSING_RATE');
    expect(error.name).toBe('ImproperlyConfiguredError');
    expect(error.message).toBe(message);
    expect(error.code).toBe('RFT_MISSING_RATE');
    expect(error.stack?.split('\n')[0]).toBe(`ImproperlyConfiguredError [RFT_MISSING_RATE]: ${message}`);
    expect(String(error)).toBe(`ImproperlyConfiguredError [RFT_MISSING_RATE]: ${message}`);
    expect(error.stack?.split('\n')[1]).toMatch(/^\s+at /);
  });

  it('withMessage(): another message, the same code and the frames of where it was first thrown', () => {
    const inner = new ImproperlyConfiguredError('Invalid throttle rate', 'RFT_INVALID_RATE');
    const outer = inner.withMessage('Invalid throttle rate (on A.b)');
    expect(outer).toBeInstanceOf(ImproperlyConfiguredError);
    expect(outer.code).toBe('RFT_INVALID_RATE');
    expect(outer.message).toBe('Invalid throttle rate (on A.b)');
    const [first, ...frames] = outer.stack?.split('\n') ?? [];
    expect(first).toBe('ImproperlyConfiguredError [RFT_INVALID_RATE]: Invalid throttle rate (on A.b)');
    expect(frames).toEqual(inner.stack?.split('\n').slice(1));
  });
});

describe('real mistakes raise their code', () => {
  const forRoot = (options: Record<string, unknown>) => () =>
    RestflowThrottleModule.forRoot(options as RestflowThrottleOptions);
  const cases: Array<[string, () => unknown, ConfigErrorCode]> = [
    ["parseRate('5/y')", () => parseRate('5/y'), 'RFT_INVALID_RATE'],
    ["parseRate('99999999999999999999/s')", () => parseRate('99999999999999999999/s'), 'RFT_INVALID_RATE'],
    ['forRoot({ rates: { anon: 5 } })', forRoot({ rates: { anon: 5 } }), 'RFT_INVALID_RATE'],
    ['forRoot({ numProxies: -1 })', forRoot({ numProxies: -1 }), 'RFT_INVALID_OPTION'],
    ["forRoot({ headers: 'yes' })", forRoot({ headers: 'yes' }), 'RFT_INVALID_OPTION'],
    ['forRoot({ ttl: 60 })', forRoot({ ttl: 60 }), 'RFT_UNKNOWN_OPTION'],
    ['forRoot({ cache: {} })', forRoot({ cache: {} }), 'RFT_INVALID_CACHE'],
    ['forRoot({ defaultThrottles: [1] })', forRoot({ defaultThrottles: [1] }), 'RFT_NOT_A_THROTTLE'],
    [
      'forRoot({ cache, caches: { default: other } })',
      forRoot({ cache: new MemoryThrottleStore(), caches: { default: new MemoryThrottleStore() } }),
      'RFT_DEFAULT_CACHE_CONFLICT',
    ],
  ];

  it.each(cases)('%s', async (_, run, code) => {
    expect((await thrown(run)).code).toBe(code);
  });

  it("a throttle with neither scope nor rate: RFT_MISSING_SCOPE_OR_RATE, DRF's message unchanged", async () => {
    class NoScope extends SimpleRateThrottle {
      getCacheKey(request: ThrottleRequest): string {
        return this.formatKey(this.getIdent(request));
      }
    }
    const error = await thrown(() => new NoScope().getRate());
    expect(error.code).toBe('RFT_MISSING_SCOPE_OR_RATE');
    expect(error.message).toBe("You must set either `.scope` or `.rate` for 'NoScope' throttle");
  });

  it('unknown alias: RFT_UNKNOWN_CACHE_ALIAS; a store with no reset(): RFT_RESET_UNSUPPORTED', async () => {
    const noReset: ThrottleStore = { ownClock: false, hit: () => ({ allowed: true, now: 0, count: 1, oldest: 0 }) };
    const stores = new ThrottleStores({ cache: noReset }, new ThrottleSettings({}));
    expect((await thrown(() => stores.storeFor('burst'))).code).toBe('RFT_UNKNOWN_CACHE_ALIAS');
    stores.storeFor(undefined);
    expect((await thrown(() => stores.reset())).code).toBe('RFT_RESET_UNSUPPORTED');
  });

  it('a named cache outside the module: RFT_CACHE_OUTSIDE_MODULE', async () => {
    class Burst extends AnonRateThrottle {
      override rate = '5/min';
      override cache = 'burst';
    }
    const request = { ip: '10.0.0.1', headers: {} } as unknown as ThrottleRequest;
    const error = await thrown(() => new Burst().allowRequest(request, undefined as never));
    expect(error.code).toBe('RFT_CACHE_OUTSIDE_MODULE');
  });

  it('a missing rate at app.init(): RFT_MISSING_RATE, the message as before, the stack showing the code', async () => {
    @Controller('articles')
    class ArticlesController {
      @Get() list(): string[] {
        return [];
      }
    }
    @Module({
      imports: [RestflowThrottleModule.forRoot({ defaultThrottles: [AnonRateThrottle], rates: {} })],
      controllers: [ArticlesController],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      const error = await thrown(() => app.init());
      const message = "No default throttle rate set for 'anon' scope (on ArticlesController.list)";
      expect(error.code).toBe('RFT_MISSING_RATE');
      expect(error.message).toBe(message);
      expect(error.name).toBe('ImproperlyConfiguredError');
      expect(error.stack?.split('\n')[0]).toBe(`ImproperlyConfiguredError [RFT_MISSING_RATE]: ${message}`);
    } finally {
      await app.close();
    }
  });
});
