import { HttpException, HttpStatus } from '@nestjs/common';
import type { ThrottledInfo } from 'restflow-throttle';

// ThrottlerModule.forRoot({ errorMessage: (context, { tracker, totalHits }) => `...`, throttlers: [...] })
export function errorMessage({ context, throttles }: ThrottledInfo): HttpException {
  const request = context.switchToHttp().getRequest<{ ip: string }>();
  const where = `${context.getClass().name}-${context.getHandler().name}`;
  return new HttpException(`${where} ${request.ip} ${throttles[0].hits}`, HttpStatus.TOO_MANY_REQUESTS);
}
