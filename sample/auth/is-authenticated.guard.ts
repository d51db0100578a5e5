import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';

/**
 * DRF's `IsAuthenticated` permission: anonymous requests are refused with
 * 401. Throttles always run after guards, so, as in DRF, the permission
 * runs before the throttles and a refused request never uses up anyone's quota.
 */
@Injectable()
export class IsAuthenticatedGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ user?: unknown }>();
    if (request.user === undefined || request.user === null) {
      throw new UnauthorizedException({ detail: 'Authentication credentials were not provided.' });
    }
    return true;
  }
}
