/**
 * The seam between the guard and the transports (lib/contexts): what kind of
 * handler a method is, a clear refusal of a context it cannot read, and the
 * transports' own error classes without importing their packages at load.
 */
import { Controller, Get, IntrinsicException, type ExecutionContext } from '@nestjs/common';
import { Mutation, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { EventPattern, MessagePattern, RpcException } from '@nestjs/microservices';
import { SubscribeMessage, WebSocketGateway, WsException } from '@nestjs/websockets';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnonRateThrottle, CacheUnavailableException, Throttle } from 'restflow-throttle';
import { handlerKind, targetFor, unguardedFieldResolver } from '../../../lib/contexts';

@Controller('things')
class ThingsController {
  @Get() list() {}
  @MessagePattern('sum') sum() {}
  @EventPattern('created') created(_event: string) {}
  helper() {}
}

@Resolver()
class ThingsResolver {
  @Query(() => String) thing() {}
  @Mutation(() => String) rename() {}
  @ResolveField(() => String) label() {}
  @ResolveField(() => String) @Throttle([AnonRateThrottle]) views() {}
  @ResolveField(() => String) @Throttle([]) cheap() {}
}

@WebSocketGateway()
class ThingsGateway {
  @SubscribeMessage('watch') watch() {}
  @Throttle([]) handleConnection() {}
}

@WebSocketGateway()
class PlainGateway {
  handleConnection() {}
}

/** A context of `type` whose arguments are `args`. */
function contextOf(
  type: string,
  args: unknown[],
  classRef: Function = ThingsController,
  handler: Function = ThingsController.prototype.list,
): ExecutionContext {
  return {
    getType: () => type,
    getArgs: () => args,
    getArgByIndex: (i: number) => args[i],
    getClass: () => classRef,
    getHandler: () => handler,
  } as unknown as ExecutionContext;
}

describe('handlerKind', () => {
  it.each([
    ['a route', ThingsController, ThingsController.prototype.list, 'http'],
    ['a message pattern', ThingsController, ThingsController.prototype.sum, 'rpc'],
    ['an event pattern', ThingsController, ThingsController.prototype.created, 'rpc'],
    ['a query', ThingsResolver, ThingsResolver.prototype.thing, 'graphql'],
    ['a mutation', ThingsResolver, ThingsResolver.prototype.rename, 'graphql'],
    ['a field resolver', ThingsResolver, ThingsResolver.prototype.label, 'graphql'],
    ['a gateway message handler', ThingsGateway, ThingsGateway.prototype.watch, 'ws'],
    [
      'a gateway handleConnection with its own @Throttle',
      ThingsGateway,
      ThingsGateway.prototype.handleConnection,
      'ws',
    ],
    ['a gateway handleConnection without one', PlainGateway, PlainGateway.prototype.handleConnection, undefined],
    ['a plain method', ThingsController, ThingsController.prototype.helper, undefined],
  ])('%s', (_name, classRef, handler, kind) => {
    expect(handlerKind(classRef, handler)).toBe(kind);
  });
});

describe('unguardedFieldResolver', () => {
  it('is true for a field resolver with its own throttles when the GraphQL module runs no guards on field resolvers', () => {
    const views = ThingsResolver.prototype.views;
    expect([
      unguardedFieldResolver(views, {}),
      unguardedFieldResolver(views, { fieldResolverEnhancers: ['interceptors'] }),
      unguardedFieldResolver(views, { fieldResolverEnhancers: ['guards'] }),
      unguardedFieldResolver(views, undefined),
      unguardedFieldResolver(ThingsResolver.prototype.label, {}), // class-level throttles only
      unguardedFieldResolver(ThingsResolver.prototype.cheap, {}), // @SkipThrottle()
      unguardedFieldResolver(ThingsResolver.prototype.thing, {}), // a query
    ]).toEqual([true, true, false, false, false, false, false]);
  });
});

describe('targetFor', () => {
  it('refuses a context type it cannot read, naming the handler', () => {
    expect(() => targetFor(contextOf('kafka-custom', []))).toThrow(
      "restflow-throttle cannot throttle a 'kafka-custom' context (ThingsController.list): it reads HTTP, GraphQL, WebSocket and microservice contexts only.",
    );
  });

  it('says what to do when a GraphQL context keeps no request', () => {
    expect(() => targetFor(contextOf('graphql', [{}, {}, { user: 'x' }, {}]))).toThrow(
      /the GraphQL context has no request to throttle on/,
    );
  });

  it("a throttled WS message is the WsException Nest's filter expects, carrying Nest's payload, the code and the wait", () => {
    const client = { handshake: { address: '::ffff:10.0.0.1', headers: {} }, data: {} };
    const error = targetFor(contextOf('ws', [client, { text: 'hi' }, 'chat'])).throttled(1.2);
    expect(error).toBeInstanceOf(WsException);
    expect((error as WsException).getError()).toEqual({
      status: 'error',
      message: 'Request was throttled. Expected available in 2 seconds.',
      code: 'THROTTLED',
      retryAfter: 2,
      cause: { pattern: 'chat', data: { text: 'hi' } },
    });
  });

  it('a throttled RPC message is an RpcException; rate-limit headers ride along in its payload', () => {
    const error = targetFor(contextOf('rpc', [{ n: 1 }, {}])).throttled(null, { 'RateLimit-Policy': '2;w=60' });
    expect(error).toBeInstanceOf(RpcException);
    expect((error as RpcException).getError()).toEqual({
      status: 'error',
      message: 'Request was throttled.',
      code: 'THROTTLED',
      retryAfter: null,
      headers: { 'RateLimit-Policy': '2;w=60' },
    });
  });

  it.each(['ws', 'rpc', 'graphql'])(
    "failed(): on %s, an HttpException raised while throttling (the 503 of onCacheError: 'deny') in the transport's form",
    (type) => {
      const args =
        type === 'graphql'
          ? [{}, {}, { req: { headers: {} } }, {}]
          : type === 'ws'
            ? [{ handshake: { headers: {} } }, 'hi', 'chat']
            : [{ n: 1 }, {}];
      const target = targetFor(contextOf(type, args));
      const failed = target.failed?.(new CacheUnavailableException());
      const expected = {
        status: 'error',
        message: 'Rate limiting is temporarily unavailable. Try again later.',
        code: 'SERVICE_UNAVAILABLE',
        statusCode: 503,
      };
      if (type === 'ws')
        expect([failed instanceof WsException, (failed as WsException).getError()]).toEqual([
          true,
          { ...expected, cause: { pattern: 'chat', data: 'hi' } },
        ]);
      if (type === 'rpc')
        expect([failed instanceof RpcException, (failed as RpcException).getError()]).toEqual([true, expected]);
      if (type === 'graphql') {
        expect([
          failed instanceof IntrinsicException,
          (failed as Error).message,
          (failed as { extensions?: unknown }).extensions,
        ]).toEqual([true, expected.message, { code: 'SERVICE_UNAVAILABLE', statusCode: 503 }]);
      }
      const bug = new TypeError('a bug in a throttle');
      expect(target.failed?.(bug)).toBe(bug);
    },
  );

  it('a WS request: the handshake address and headers, and the user an auth guard left on the client', () => {
    const client = {
      handshake: { address: '10.0.0.1', headers: { 'x-forwarded-for': '203.0.113.9' } },
      data: { user: { id: 7 } },
    };
    const request = targetFor(contextOf('ws', [client, 'payload', 'chat'])).request;
    expect([request.socket?.remoteAddress, request.headers['x-forwarded-for'], request.user]).toEqual([
      '10.0.0.1',
      '203.0.113.9',
      { id: 7 },
    ]);
  });
});

describe('the CommonJS build', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'restflow-contexts-cjs-'));
    // lib/contexts and what it imports, compiled as the package's build does (CommonJS).
    const flags = [
      '--ignoreConfig',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'ES2022',
      '--experimentalDecorators',
      '--emitDecoratorMetadata',
    ];
    const files = ['--skipLibCheck', '--types', 'node', '--rootDir', 'lib', '--outDir', dir, 'lib/contexts/index.ts'];
    execFileSync(join(process.cwd(), 'node_modules', '.bin', 'tsc'), [...flags, ...files], { stdio: 'pipe' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads no transport package with lib/contexts, and answers with the classes an app requiring them gets', () => {
    writeFileSync(
      join(dir, 'check.js'),
      `
      const Module = require('node:module');
      const requested = [];
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) { requested.push(request); return resolve.call(this, request, ...rest); };
      require('reflect-metadata');
      const { targetFor } = require('./contexts/index.js');
      const loadedAtStart = requested.filter((r) => /^(graphql|@nestjs\\/(graphql|apollo|mercurius|websockets|platform-socket\\.io|platform-ws|microservices))(\\/|$)/.test(r));
      const context = (type, args) => ({ getType: () => type, getArgs: () => args, getArgByIndex: (i) => args[i] });
      const ws = targetFor(context('ws', [{ handshake: { headers: {} } }, 1, 'chat'])).throttled(3);
      const rpc = targetFor(context('rpc', [1, {}])).throttled(3);
      console.log(JSON.stringify({
        loadedAtStart,
        ws: ws instanceof require('@nestjs/websockets').WsException,
        rpc: rpc instanceof require('@nestjs/microservices').RpcException,
      }));
      `,
    );
    const output = execFileSync(process.execPath, [join(dir, 'check.js')], {
      env: { ...process.env, NODE_PATH: join(process.cwd(), 'node_modules') },
      encoding: 'utf8',
    });
    expect(JSON.parse(output.trim().split('\n').pop()!)).toEqual({ loadedAtStart: [], ws: true, rpc: true });
  });
});

describe('the published build (ES modules)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'restflow-contexts-esm-'));
    execFileSync(process.execPath, ['scripts/build-package.mjs', '--outDir', join(dir, 'dist')], { stdio: 'pipe' });
    symlinkSync(join(process.cwd(), 'node_modules'), join(dir, 'node_modules'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads no transport package with the library; a gateway or microservice handler found at startup loads the class Nest checks', () => {
    // A resolve hook (it runs off the main thread) writes down every transport package asked for.
    writeFileSync(
      join(dir, 'hook.mjs'),
      `
      import { appendFileSync } from 'node:fs';
      export async function resolve(specifier, context, next) {
        if (/^(graphql|@nestjs\\/(graphql|apollo|mercurius|websockets|platform-socket\\.io|platform-ws|microservices))(\\/|$)/.test(specifier)) {
          appendFileSync(${JSON.stringify(join(dir, 'requested.log'))}, specifier + '\\n');
        }
        return next(specifier, context);
      }
      `,
    );
    writeFileSync(
      join(dir, 'register.mjs'),
      `import { register } from 'node:module'; register('./hook.mjs', import.meta.url);`,
    );
    writeFileSync(
      join(dir, 'check.mjs'),
      `
      import { existsSync, readFileSync } from 'node:fs';
      import 'reflect-metadata';
      const log = ${JSON.stringify(join(dir, 'requested.log'))};
      const library = await import('./dist/index.js');
      const { handlerKind, targetFor } = await import('./dist/contexts/index.js');
      const { loadTransportException } = await import('./dist/contexts/transport-exceptions.js');
      const loadedWithLibrary = existsSync(log) ? readFileSync(log, 'utf8').split('\\n').filter(Boolean) : [];
      const { SubscribeMessage, WsException } = await import('@nestjs/websockets');
      const { MessagePattern, RpcException } = await import('@nestjs/microservices');
      class Gateway { chat() {} }
      SubscribeMessage('chat')(Gateway.prototype, 'chat', Object.getOwnPropertyDescriptor(Gateway.prototype, 'chat'));
      class Service { sum() {} }
      MessagePattern('sum')(Service.prototype, 'sum', Object.getOwnPropertyDescriptor(Service.prototype, 'sum'));
      const kinds = [handlerKind(Gateway, Gateway.prototype.chat), handlerKind(Service, Service.prototype.sum)];
      await Promise.all([loadTransportException('ws'), loadTransportException('rpc')]);
      const context = (type, args) => ({ getType: () => type, getArgs: () => args, getArgByIndex: (i) => args[i] });
      const ws = targetFor(context('ws', [{ handshake: { headers: {} } }, 1, 'chat'])).throttled(3);
      const rpc = targetFor(context('rpc', [1, {}])).throttled(3);
      console.log(JSON.stringify({
        library: typeof library.RestflowThrottleModule,
        loadedWithLibrary,
        kinds,
        ws: ws instanceof WsException,
        rpc: rpc instanceof RpcException,
        hookSawTheAppsImports: readFileSync(log, 'utf8').includes('@nestjs/websockets'),
      }));
      `,
    );
    const output = execFileSync(process.execPath, ['--import', './register.mjs', 'check.mjs'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(JSON.parse(output.trim().split('\n').pop()!)).toEqual({
      library: 'function',
      loadedWithLibrary: [],
      kinds: ['ws', 'rpc'],
      ws: true,
      rpc: true,
      hookSawTheAppsImports: true,
    });
  });
});
