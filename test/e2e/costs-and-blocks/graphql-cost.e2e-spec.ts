/**
 * Weighted requests over GraphQL (issue 23 item 4): a throttle's `getRequestCost()` weighs a query by the page
 * size it asks for (its `first` argument), and a mutation is blocked once refused; a refused operation is the
 * transport's throttled error with the exact wait. Apollo on Express, Mercurius on Fastify, real HTTP.
 */
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import type { ExecutionContext } from '@nestjs/common';
import { Args, Field, GraphQLModule, Int, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import {
  ManualClock,
  RestflowThrottleModule,
  SimpleRateThrottle,
  Throttle,
  type ThrottleRequest,
} from 'restflow-throttle';
import { gql, type GraphQLResponse } from '../../helpers/contexts/graphql-app';
import { PLATFORMS, type Platform, startApp, type TestApp } from '../../helpers/http-app';

/** Keyed on the `x-client` header of the HTTP request behind the operation. */
abstract class ClientThrottle extends SimpleRateThrottle {
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(String(request.headers['x-client']));
  }
}

/** A query costs the page size it asks for (`first`, default 10); anything else costs 1. */
class PageSizeThrottle extends ClientThrottle {
  override scope = 'pages';
  override getRequestCost(_request: ThrottleRequest, context: ExecutionContext): number {
    if (context.getType<string>() !== 'graphql') return 1;
    return context.getArgByIndex<{ first?: number }>(1)?.first ?? 10;
  }
}

class RedeemThrottle extends ClientThrottle {
  override scope = 'redeem';
  override blockDuration = '10m';
}

@ObjectType()
class Article {
  @Field(() => String) id!: string;
}

@Resolver(() => Article)
class CatalogResolver {
  @Query(() => [Article], { nullable: true })
  @Throttle([PageSizeThrottle])
  articles(@Args('first', { type: () => Int, nullable: true }) first?: number): Article[] {
    return Array.from({ length: first ?? 10 }, (_, i) => ({ id: String(i) }));
  }

  @Mutation(() => Boolean)
  @Throttle([RedeemThrottle])
  redeem(): boolean {
    return false;
  }
}

function graphql(platform: Platform) {
  return platform === 'express'
    ? GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true })
    : GraphQLModule.forRoot<MercuriusDriverConfig>({ driver: MercuriusDriver, autoSchemaFile: true });
}

/** The throttled error of an operation, as a client sees it. */
function throttled(response: GraphQLResponse) {
  return response.errors.map((e) => ({ code: e.extensions?.code, retryAfter: e.extensions?.retryAfter }));
}

describe.each(PLATFORMS)('costs and blocks over GraphQL on %s', (platform) => {
  const clock = new ManualClock(1_000_000);
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(platform, {
      imports: [
        graphql(platform),
        RestflowThrottleModule.forRoot({ rates: { pages: '100/min', redeem: '2/min' }, clock: clock.read }),
      ],
      providers: [CatalogResolver],
    });
  });
  afterAll(() => t.close());

  it('a query costs its page size: 60 then 40 fill the minute, 50 more is refused whole', async () => {
    const page = (first: number) => gql(t.url, `{ articles(first: ${first}) { id } }`, { 'x-client': 'pages' });
    expect((await page(60)).errors).toEqual([]);
    clock.advance(10);
    const refused = await page(50);
    expect(throttled(refused)).toEqual([{ code: 'THROTTLED', retryAfter: 50 }]);
    expect(refused.retryAfter).toBe('50');
    const last = await page(40);
    expect([last.errors, last.data]).toEqual([[], { articles: expect.any(Array) }]);
    expect(last.data?.articles).toHaveLength(40);
    expect(throttled(await gql(t.url, '{ articles { id } }', { 'x-client': 'pages' }))).toEqual([
      { code: 'THROTTLED', retryAfter: 50 },
    ]);
  });

  it('a refused mutation blocks its client for 10 minutes', async () => {
    const redeem = () => gql(t.url, 'mutation { redeem }', { 'x-client': 'redeem' });
    expect((await redeem()).errors).toEqual([]);
    expect((await redeem()).errors).toEqual([]);
    expect(throttled(await redeem())).toEqual([{ code: 'THROTTLED', retryAfter: 600 }]);
    clock.advance(60);
    expect(throttled(await redeem())).toEqual([{ code: 'THROTTLED', retryAfter: 540 }]);
    clock.advance(540);
    expect((await redeem()).errors).toEqual([]);
  });
});
