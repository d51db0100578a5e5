import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import type { SampleUser } from './users';

/**
 * DRF's `IsAdminUser` permission: only staff (`user.isStaff`, DRF's
 * `is_staff`) get through. Anonymous requests are refused with 401, signed-in
 * users who are not staff with 403, each with DRF's body.
 */
@Injectable()
export class IsAdminUserGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const { user } = context.switchToHttp().getRequest<{ user?: SampleUser }>();
    if (user === undefined) {
      throw new UnauthorizedException({ detail: 'Authentication credentials were not provided.' });
    }
    if (user.isStaff !== true) {
      throw new ForbiddenException({ detail: 'You do not have permission to perform this action.' });
    }
    return true;
  }
}
