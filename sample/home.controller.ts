import { Controller, Get, Headers } from '@nestjs/common';
import { SkipThrottle } from 'restflow-throttle';
import { SAMPLE_RATES } from './configuration/rates';

/** `GET /`: what to try, for someone who just ran `npm start`. */
@Controller()
@SkipThrottle()
export class HomeController {
  @Get()
  index(@Headers('host') host = 'localhost:3000'): Record<string, unknown> {
    const tokens = ['alice-token', 'bob-token', 'carol-token', 'dave-token', 'staff-token'];
    return {
      name: 'restflow-throttle sample',
      tokens,
      try: [
        `curl -i ${host}/articles   (the 4th anonymous request in a minute is a 429)`,
        `curl -i -H 'Authorization: Token alice-token' ${host}/articles`,
        `curl -i -H 'Authorization: Token staff-token' '${host}/admin/throttles/anon?address=127.0.0.1'   (support staff: the client's state; -X DELETE resets it)`,
        `curl -i -X POST ${host}/uploads`,
        `curl -i ${host}/downloads`,
        `curl -i ${host}/viewsets/articles`,
        `curl -i -X DELETE -H 'Authorization: Token alice-token' ${host}/viewsets/articles/1`,
        `curl -i -X POST ${host}/viewsets/reports/export`,
        `curl -i -H 'Authorization: Token bob-token' ${host}/tenant/projects`,
        `curl -i -H 'X-API-Key: partner-1' ${host}/partner/feed`,
        `curl -i '${host}/renders/pdf?ms=5000'   (a 6th one in parallel is a 429)`,
        `curl -i -X POST -H 'Authorization: Token alice-token' ${host}/orders   (429 when started with MAINTENANCE=on)`,
        `curl -i '${host}/search?q=nest'`,
        `curl -i ${host}/catalog   and   curl -i ${host}/catalog/terms`,
        `curl -i ${host}/health`,
        `curl -i -H 'Content-Type: application/json' -d '{"items":[1,2,3]}' ${host}/imports   (each item counts: 100 an hour)`,
        `curl -i -H 'Content-Type: application/json' -d '{"code":"000000"}' ${host}/verify-code   (a 4th try in 10 min: refused for an hour)`,
        `curl -i -d username=alice -d password=guess ${host}/auth/login   (5 failures in 15 min, then 429)`,
      ],
      rates: SAMPLE_RATES,
    };
  }
}
