import { UseGuards } from '@nestjs/common';
import { Args, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { AnonRateThrottle, SkipThrottle, Throttle, UserRateThrottle } from 'restflow-throttle';
import { Article } from './article.model';
import { GqlTokenAuthGuard } from './gql-token-auth.guard';

/** Likes per user: a fixed rate, its own bucket (scope `likes`). */
export class LikeRateThrottle extends UserRateThrottle {
  override scope = 'likes';
  override rate = '2/min';
}

const ARTICLES: Article[] = [
  { id: 1, title: 'Throttling in DRF', likes: 0 },
  { id: 2, title: 'Throttling in NestJS', likes: 0 },
];

/**
 * The HTTP `ArticleView` as a GraphQL resolver: the same decorators, the
 * same rates. Anonymous clients get `anon` per address (the HTTP request
 * behind the operation), signed-in users `user` per id. A throttled field
 * comes back as a GraphQL error with DRF's detail, `extensions.code:
 * "THROTTLED"` and `extensions.retryAfter`, and the HTTP response carries
 * `Retry-After`.
 */
@Resolver(() => Article)
@UseGuards(GqlTokenAuthGuard)
@Throttle([AnonRateThrottle, UserRateThrottle])
export class ArticlesResolver {
  @Query(() => [Article])
  articles(): Article[] {
    return ARTICLES;
  }

  @Query(() => Article, { nullable: true })
  article(@Args('id', { type: () => Int }) id: number): Article | undefined {
    return ARTICLES.find((a) => a.id === id);
  }

  /** Its own throttle replaces the class's: 2 likes a minute per user. */
  @Mutation(() => Article, { nullable: true })
  @Throttle([LikeRateThrottle])
  likeArticle(@Args('id', { type: () => Int }) id: number): Article | undefined {
    const article = ARTICLES.find((a) => a.id === id);
    if (article !== undefined) article.likes++;
    return article;
  }

  /**
   * With guards on field resolvers (`fieldResolverEnhancers: ['guards']`),
   * the class's throttles would count every article of a list once more:
   * this cheap field opts out.
   */
  @ResolveField(() => Int)
  @SkipThrottle()
  titleLength(@Parent() article: Article): number {
    return article.title.length;
  }
}
