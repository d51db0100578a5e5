import { Field, Int, ObjectType } from '@nestjs/graphql';

/** An article as the GraphQL schema exposes it. */
@ObjectType()
export class Article {
  @Field(() => Int) id!: number;
  @Field(() => String) title!: string;
  @Field(() => Int) likes!: number;
}
