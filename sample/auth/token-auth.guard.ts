import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { USERS_BY_TOKEN, type SampleUser } from './users';

/** The request as this guard sees it on Express and Fastify alike. */
interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  user?: SampleUser;
}

/**
 * DRF's `TokenAuthentication`: `Authorization: Token <key>` (or `Bearer <key>`)
 * sets `request.user`; no header leaves the request anonymous; an unknown
 * token is refused with DRF's 401 body.
 *
 * It is registered as a global guard by the root module, ahead of the
 * throttle guard, so every throttle sees the authenticated user.
 */
@Injectable()
export class TokenAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<AuthRequest>();
    const header = request.headers.authorization;
    if (typeof header !== 'string' || header === '') return true;
    const [scheme, token] = header.split(' ');
    if (!/^(token|bearer)$/i.test(scheme) || !token) {
      throw new UnauthorizedException({ detail: 'Invalid token header. No credentials provided.' });
    }
    const user = USERS_BY_TOKEN.get(token);
    if (user === undefined) throw new UnauthorizedException({ detail: 'Invalid token.' });
    request.user = user;
    return true;
  }
}
