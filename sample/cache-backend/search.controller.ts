import { Controller, Get, Query } from '@nestjs/common';
import { Throttle } from 'restflow-throttle';
import { IsolatedThrottle } from './isolated.throttle';

/** Search, counted in the separate `throttling` cache. */
@Controller('search')
@Throttle([IsolatedThrottle])
export class SearchController {
  @Get()
  search(@Query('q') q = ''): { q: string; results: string[] } {
    return { q, results: q === '' ? [] : [`${q} in articles`, `${q} in reports`] };
  }
}
