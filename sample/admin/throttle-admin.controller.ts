import {
  BadRequestException,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  NotImplementedException,
  Param,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import {
  ImproperlyConfiguredError,
  SkipThrottle,
  ThrottleAdmin,
  type ThrottleClient,
  type ThrottleClientState,
} from 'restflow-throttle';
import { IsAdminUserGuard } from '../auth/is-admin-user.guard';

/** Who, in the query string: `?user=1` or `?address=203.0.113.7`, and `&route=...` for a per-route throttle. */
interface ClientQuery {
  readonly user?: string;
  readonly address?: string;
  readonly route?: string;
}

/**
 * Support staff's throttle tools (docs/admin.md), for staff only (DRF's
 * `IsAdminUser`). A throttle is named by its scope (`anon`, `user`,
 * `uploads`, `plan`...), a client by its user id or its IP address:
 *
 * - `GET /admin/throttles/user?user=1`: used, remaining, reset, blocked until;
 * - `DELETE /admin/throttles/anon?address=203.0.113.7`: lets a refused client back in;
 * - `POST /admin/throttles/user/block?user=1&seconds=3600`: refuses it for an hour.
 *
 * Not throttled itself, so that staff are never locked out of their own tools.
 */
@Controller('admin/throttles')
@UseGuards(IsAdminUserGuard)
@SkipThrottle()
export class ThrottleAdminController {
  constructor(private readonly admin: ThrottleAdmin) {}

  @Get(':scope')
  state(@Param('scope') scope: string, @Query() query: ClientQuery): Promise<ThrottleClientState> {
    return answer(() => this.admin.state(scope, clientOf(query)));
  }

  @Delete(':scope')
  reset(@Param('scope') scope: string, @Query() query: ClientQuery): Promise<ThrottleClientState[]> {
    return answer(() => this.admin.reset(scope, clientOf(query)));
  }

  @Post(':scope/block')
  @HttpCode(200)
  block(
    @Param('scope') scope: string,
    @Query() query: ClientQuery,
    @Query('seconds') seconds?: string,
  ): Promise<ThrottleClientState[]> {
    return answer(() => this.admin.block(scope, clientOf(query), Number(seconds)));
  }
}

function clientOf({ user, address, route }: ClientQuery): ThrottleClient {
  return { user, address, route };
}

/** The admin's answer, or its refusal as an HTTP error: 404 for whom it does not know, 400 for a bad question. */
async function answer<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof ImproperlyConfiguredError)) throw error;
    const body = { detail: error.message, code: error.code };
    if (error.code === 'RFT_ADMIN_UNKNOWN_THROTTLE' || error.code === 'RFT_ADMIN_NOT_COUNTED') {
      throw new NotFoundException(body);
    }
    if (error.code === 'RFT_ADMIN_UNSUPPORTED') throw new NotImplementedException(body);
    throw new BadRequestException(body);
  }
}
