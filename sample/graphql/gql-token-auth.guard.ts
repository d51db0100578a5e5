import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { GraphQLError } from 'graphql';
import { USERS_BY_TOKEN, type SampleUser } from '../auth/users';

/**
 * The sample's token authentication for GraphQL: `Authorization: Token <key>`
 * on the HTTP request behind the operation sets `req.user`, which the user
 * throttles read. Bound on the resolver with `@UseGuards`: the module still
 * runs the throttles after it.
 */
@Injectable()
export class GqlTokenAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = GqlExecutionContext.create(context).getContext<{
      req: { headers: Record<string, unknown>; user?: SampleUser };
    }>().req;
    const header = request.headers.authorization;
    if (typeof header !== 'string' || header === '') return true;
    const user = USERS_BY_TOKEN.get(header.replace(/^(token|bearer) /i, ''));
    if (user === undefined) throw new GraphQLError('Invalid token.', { extensions: { code: 'UNAUTHENTICATED' } });
    request.user = user;
    return true;
  }
}
