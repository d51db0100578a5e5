import { Module } from '@nestjs/common';
import { ThrottleAdminController } from './throttle-admin.controller';

/**
 * Docs topic "how support staff unblock a user" (docs/admin.md): `ThrottleAdmin`,
 * provided by `RestflowThrottleModule`, behind admin-only routes.
 */
@Module({ controllers: [ThrottleAdminController] })
export class AdminModule {}
