/**
 * Issue 24, item 1, on GraphQL (Apollo on Express, Mercurius on Fastify): a
 * resolver is throttled however it is provided. The attack:
 * `@Throttle([LoginThrottle])` (5/min) on a `login` mutation, and the
 * resolver provided with `useFactory`, `useValue`, `useExisting`, `useClass`,
 * request-scoped or transient; the 6th call must be throttled. A resolver
 * GraphQL itself cannot find (a request-scoped factory, whose class is
 * unknown until a request) is not served at all, so there is nothing to
 * throttle: the last tests pin that.
 */
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Injectable, Module, Scope, type Provider, type Type } from '@nestjs/common';
import { GraphQLModule, Mutation, Query, Resolver } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { RestflowThrottleModule, SimpleRateThrottle, Throttle, type ThrottleRequest } from 'restflow-throttle';
import { startApp, type Platform, type TestApp } from '../../helpers/http-app';
import { gql } from '../../helpers/contexts/graphql-app';

/** Login attempts per client address. */
class LoginThrottle extends SimpleRateThrottle {
  override scope = 'login';
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(this.getIdent(request));
  }
}

@Resolver()
class AuthResolver {
  @Mutation(() => String)
  @Throttle([LoginThrottle])
  login(): string {
    return 'token';
  }
}

/** Another class with the same mutation, for `useClass` under the first class's token. */
@Resolver()
class OtherAuthResolver {
  @Mutation(() => String)
  @Throttle([LoginThrottle])
  login(): string {
    return 'other token';
  }
}

@Resolver()
@Injectable({ scope: Scope.REQUEST })
class RequestScopedAuthResolver {
  @Mutation(() => String)
  @Throttle([LoginThrottle])
  login(): string {
    return 'token';
  }
}

@Resolver()
@Injectable({ scope: Scope.TRANSIENT })
class TransientAuthResolver {
  @Mutation(() => String)
  @Throttle([LoginThrottle])
  login(): string {
    return 'token';
  }
}

/** Request-scoped, so whatever depends on it is built per request too. */
@Injectable({ scope: Scope.REQUEST })
class RequestDependency {
  readonly value = 'token';
}

@Resolver()
class DependentAuthResolver {
  constructor(private readonly dependency: RequestDependency) {}

  @Mutation(() => String)
  @Throttle([LoginThrottle])
  login(): string {
    return this.dependency.value;
  }
}

/** GraphQL needs a query type; it is not throttled. */
@Resolver()
class HealthResolver {
  @Query(() => String)
  health(): string {
    return 'ok';
  }
}

/** The resolver provided by an imported module, for the aliases of another module's provider. */
@Module({ providers: [AuthResolver], exports: [AuthResolver] })
class AuthModule {}

@Module({ providers: [{ provide: AuthResolver, useFactory: () => new AuthResolver() }] })
class FactoryAuthModule {}

const build = () => new AuthResolver();
const alias: Provider = { provide: 'AUTH', useExisting: AuthResolver };
const LOGIN = 'mutation { login }';
const THROTTLED = 'Request was throttled. Expected available in 60 seconds.';

type Driver = 'apollo' | 'mercurius';
/** Apollo on Express (on Fastify it needs `@as-integrations/fastify`), Mercurius on Fastify. */
const SETUPS: [Driver, Platform][] = [
  ['apollo', 'express'],
  ['mercurius', 'fastify'],
];

async function start(setup: [Driver, Platform], providers: Provider[], imports: Type[] = []): Promise<TestApp> {
  const [driver, platform] = setup;
  return startApp(platform, {
    imports: [
      driver === 'apollo'
        ? GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true })
        : GraphQLModule.forRoot<MercuriusDriverConfig>({ driver: MercuriusDriver, autoSchemaFile: true }),
      RestflowThrottleModule.forRoot({ rates: { login: '5/min' } }),
      ...imports,
    ],
    providers: [HealthResolver, ...providers],
  });
}

/** What six logins answered: the data, or the error's message. */
async function sixLogins(t: TestApp): Promise<unknown[]> {
  const answers: unknown[] = [];
  for (let i = 0; i < 6; i++) {
    const response = await gql(t.url, LOGIN);
    answers.push(response.errors.length > 0 ? response.errors.map((e) => e.message).join('; ') : response.data?.login);
  }
  return answers;
}

describe.each(SETUPS)('a throttled resolver, however it is provided (GraphQL, %s on %s)', (...setup) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it.each<[string, Provider[], Type[]]>([
    ['as a class', [AuthResolver], []],
    ['with useFactory', [{ provide: AuthResolver, useFactory: () => new AuthResolver() }], []],
    ['with an async useFactory', [{ provide: AuthResolver, useFactory: async () => new AuthResolver() }], []],
    ['with useFactory under a string token', [{ provide: 'AUTH_RESOLVER', useFactory: () => new AuthResolver() }], []],
    ['with useFactory, in an imported module', [], [FactoryAuthModule]],
    ['with useValue', [{ provide: AuthResolver, useValue: new AuthResolver() }], []],
    ['with useExisting (an alias of a class provider)', [AuthResolver, alias], []],
    ["with useExisting, aliasing another module's provider", [alias], [AuthModule]],
    ['with useClass', [{ provide: AuthResolver, useClass: OtherAuthResolver }], []],
    ['request-scoped', [RequestScopedAuthResolver], []],
    ['with a request-scoped dependency', [DependentAuthResolver, RequestDependency], []],
    ['transient', [TransientAuthResolver], []],
  ])('%s: the 6th login is throttled', async (_form, providers, imports) => {
    t = await start(setup, providers, imports);
    const answers = await sixLogins(t);
    const token = providers.some((p) => typeof p === 'object' && 'useClass' in p) ? 'other token' : 'token';
    expect(answers).toEqual([...Array<string>(5).fill(token), THROTTLED]);
  });

  it.each<[string, Provider[]]>([
    ['a request-scoped useFactory', [{ provide: AuthResolver, useFactory: build, scope: Scope.REQUEST }]],
    ['a transient useFactory', [{ provide: AuthResolver, useFactory: build, scope: Scope.TRANSIENT }]],
    [
      'a useFactory with a request-scoped dependency',
      [RequestDependency, { provide: AuthResolver, inject: [RequestDependency], useFactory: () => new AuthResolver() }],
    ],
  ])('%s: GraphQL finds no resolver before a request and serves none (nothing to throttle)', async (_, providers) => {
    t = await start(setup, providers);
    const response = await gql(t.url, LOGIN);
    expect(response.data).toBeNull();
    expect(response.errors.map((e) => e.message)).toEqual(['Schema is not configured to execute mutation operation.']);
  });
});
