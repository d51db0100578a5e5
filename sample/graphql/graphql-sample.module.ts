import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module, type DynamicModule } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { ArticlesResolver } from './articles.resolver';

/**
 * GraphQL at `/graphql`: Apollo on Express, Mercurius on Fastify, the schema
 * built in memory. `fieldResolverEnhancers: ['guards']` lets `@Throttle` work
 * on field resolvers too (Nest runs no guards on them otherwise).
 */
@Module({})
export class GraphqlSampleModule {
  static forPlatform(platform: 'express' | 'fastify'): DynamicModule {
    const graphql =
      platform === 'fastify'
        ? GraphQLModule.forRoot<MercuriusDriverConfig>({
            driver: MercuriusDriver,
            autoSchemaFile: true,
            fieldResolverEnhancers: ['guards'],
          })
        : GraphQLModule.forRoot<ApolloDriverConfig>({
            driver: ApolloDriver,
            autoSchemaFile: true,
            fieldResolverEnhancers: ['guards'],
          });
    return { module: GraphqlSampleModule, imports: [graphql], providers: [ArticlesResolver] };
  }
}
