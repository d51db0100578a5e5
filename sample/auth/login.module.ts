import { Module } from '@nestjs/common';
import { LoginController } from './login.controller';

/** `POST /auth/login`, behind FailedAttemptsThrottle (docs/brute-force.md). */
@Module({ controllers: [LoginController] })
export class LoginModule {}
