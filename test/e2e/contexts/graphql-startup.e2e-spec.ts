/**
 * A field resolver with its own @Throttle in an app whose GraphQL module runs
 * no guards on field resolvers: its throttles would never run, so the module
 * says so once at startup, naming the handler.
 */
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Field, GraphQLModule, Int, ObjectType, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { AnonRateThrottle, RestflowThrottleModule, Throttle } from 'restflow-throttle';
import { CapturingLogger, startApp } from '../../helpers/http-app';

@ObjectType()
class Book {
  @Field(() => String) title!: string;
}

@Resolver(() => Book)
class BooksResolver {
  @Query(() => Book)
  book(): Book {
    return { title: 'Two Scoops' };
  }

  @ResolveField(() => Int)
  @Throttle([AnonRateThrottle])
  pages(): number {
    return 100;
  }
}

it.each([
  [
    undefined,
    [
      "BooksResolver.pages is a throttled field resolver, but Nest runs no guards on field resolvers: add fieldResolverEnhancers: ['guards'] to GraphQLModule.forRoot(), or its throttles never run.",
    ],
  ],
  [['guards' as const], []],
])('fieldResolverEnhancers %j: the startup warnings', async (fieldResolverEnhancers, expected) => {
  const logger = new CapturingLogger();
  const t = await startApp(
    'express',
    {
      imports: [
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          autoSchemaFile: true,
          ...(fieldResolverEnhancers ? { fieldResolverEnhancers } : {}),
        }),
        RestflowThrottleModule.forRoot({ rates: { anon: '5/min' } }),
      ],
      providers: [BooksResolver],
    },
    logger,
  );
  await t.close();
  expect(logger.warnings.filter((w) => w.includes('field resolver'))).toEqual(expected);
});
