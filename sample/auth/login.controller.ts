import { Body, Controller, HttpCode, Post, UnauthorizedException } from '@nestjs/common';
import { FailedAttemptsThrottle, Throttle } from 'restflow-throttle';

/**
 * The sample's one account that can sign in with a password. Try
 * `curl -i -X POST localhost:3000/auth/login -H 'content-type: application/json'
 * -d '{"username":"alice","password":"wonderland"}'`: the answer is alice's token.
 */
export const DEMO_LOGIN = { username: 'alice', password: 'wonderland', token: 'alice-token' } as const;

/** What a login form posts. */
interface LoginForm {
  username?: unknown;
  password?: unknown;
}

/**
 * Brute-force protection (docs/brute-force.md): 5 failed attempts per 15
 * minutes (`rates.login`) per account and client address, the 6th a 429
 * with Retry-After; a successful login resets the count. Every attempt holds
 * its place while it runs, so parallel guesses get no further than 5.
 */
@Controller('auth')
export class LoginController {
  @Post('login')
  @HttpCode(200)
  @Throttle([FailedAttemptsThrottle])
  login(@Body() form: LoginForm | undefined): { token: string } {
    // The account as the throttle keys it: trimmed and lower-cased. A real app compares a password hash.
    const username = typeof form?.username === 'string' ? form.username.trim().toLowerCase() : undefined;
    if (username !== DEMO_LOGIN.username || form?.password !== DEMO_LOGIN.password) {
      throw new UnauthorizedException({ detail: 'Invalid username or password.' });
    }
    return { token: DEMO_LOGIN.token };
  }
}
