import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Injectable, type CanActivate, type ExecutionContext, type ModuleMetadata } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Field, GraphQLModule, Int, Mutation, ObjectType, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import {
  AnonRateThrottle,
  RestflowThrottleModule,
  ScopedRateThrottle,
  SimpleRateThrottle,
  SkipThrottle,
  Throttle,
  ThrottleScope,
  UserRateThrottle,
  type RestflowThrottleOptions,
  type ThrottleRequest,
} from 'restflow-throttle';
import type { Platform } from '../http-app';

/** `Authorization: Token <id>` signs the request in, wherever the context keeps it. */
@Injectable()
export class TokenAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = (
      context.getType<string>() === 'graphql'
        ? context.getArgByIndex<{ req: ThrottleRequest }>(2).req
        : context.getArgByIndex(0)
    ) as ThrottleRequest;
    const auth = request?.headers?.authorization;
    if (typeof auth === 'string' && auth.startsWith('Token ')) request.user = { id: auth.slice(6) };
    return true;
  }
}

/** One bucket per client for the `views` field. */
export class ViewsThrottle extends SimpleRateThrottle {
  override scope = 'views';
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(this.getIdent(request));
  }
}

@ObjectType()
export class Article {
  @Field(() => String) id!: string;
  @Field(() => String) title!: string;
}

@Resolver(() => Article)
@Throttle([AnonRateThrottle])
export class ArticleResolver {
  @Query(() => Article, { nullable: true })
  article(): Article {
    return { id: '1', title: 'Hello' };
  }

  @Mutation(() => Article)
  @Throttle([UserRateThrottle])
  like(): Article {
    return { id: '1', title: 'Hello' };
  }

  @ResolveField(() => Int, { nullable: true })
  @Throttle([ViewsThrottle])
  views(): number {
    return 42;
  }

  @Query(() => String)
  @SkipThrottle()
  health(): string {
    return 'ok';
  }

  @Query(() => String)
  @ThrottleScope('search')
  @Throttle([ScopedRateThrottle])
  search(): string {
    return 'found';
  }

  @Query(() => String)
  @ThrottleScope('search')
  @Throttle([ScopedRateThrottle])
  suggest(): string {
    return 'suggested';
  }
}

export const RATES = { anon: '3/min', user: '2/min', views: '1/min', search: '2/min' };

/** Apollo on Express, Mercurius on Fastify; guards on field resolvers too. */
export function graphqlApp(platform: Platform, options: RestflowThrottleOptions = {}): ModuleMetadata {
  const graphql =
    platform === 'express'
      ? GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          autoSchemaFile: true,
          fieldResolverEnhancers: ['guards'],
        })
      : GraphQLModule.forRoot<MercuriusDriverConfig>({
          driver: MercuriusDriver,
          autoSchemaFile: true,
          fieldResolverEnhancers: ['guards'],
        });
  return {
    imports: [graphql, RestflowThrottleModule.forRoot({ rates: RATES, ...options })],
    providers: [ArticleResolver, { provide: APP_GUARD, useClass: TokenAuthGuard }],
  };
}

/** A GraphQL response over HTTP. */
export interface GraphQLResponse {
  status: number;
  retryAfter: string | null;
  headers: Headers;
  data: Record<string, unknown> | null;
  errors: { message: string; path?: unknown[]; extensions?: Record<string, unknown> }[];
}

/** POSTs an operation to `/graphql` with fetch. */
export async function gql(url: string, query: string, headers: Record<string, string> = {}): Promise<GraphQLResponse> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { data?: Record<string, unknown> | null; errors?: GraphQLResponse['errors'] };
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    headers: response.headers,
    data: body.data ?? null,
    errors: body.errors ?? [],
  };
}
