import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  ParseIntPipe,
  Post,
  UseGuards,
} from '@nestjs/common';
import { ActionConfig, ScopedRateThrottle, Throttle, UserRateThrottle } from 'restflow-throttle';
import { IsAuthenticatedGuard } from '../auth/is-authenticated.guard';
import { ArticlesRepository, type Article } from './articles.repository';

/**
 * The docs' per-action `ArticleViewSet`: the class throttles with
 * `UserRateThrottle`, and `ActionConfig` gives `list` and `destroy` a
 * `ScopedRateThrottle` with scopes of their own (`list`: generous, `destroy`:
 * strict). `retrieve` and `create` keep the class's `UserRateThrottle`.
 *
 * The class form of `@ActionConfig` is a map of method name to override, as
 * DRF's `action_configs`; the scope goes in the same entry, so no
 * `get_throttles()` override is needed.
 */
@Controller('viewsets/articles')
@Throttle([UserRateThrottle])
@ActionConfig({
  list: { throttles: [ScopedRateThrottle], throttleScope: 'list' },
  destroy: { throttles: [ScopedRateThrottle], throttleScope: 'destroy' },
})
export class ArticleViewSet {
  constructor(private readonly articles: ArticlesRepository) {}

  @Get()
  list(): Article[] {
    return this.articles.all();
  }

  @Get(':id')
  retrieve(@Param('id', ParseIntPipe) id: number): Article {
    const article = this.articles.find(id);
    if (article === undefined) throw new NotFoundException({ detail: 'Not found.' });
    return article;
  }

  @Post()
  @HttpCode(201)
  create(@Body() body: { title?: unknown } | undefined): Article {
    return this.articles.create(typeof body?.title === 'string' ? body.title : 'Untitled');
  }

  /**
   * Only signed-in users may delete. The throttles run after every guard,
   * so DRF's order holds (permissions, then throttles): a refused anonymous
   * request is answered 401 and counted nowhere.
   */
  @Delete(':id')
  @HttpCode(204)
  @UseGuards(IsAuthenticatedGuard)
  destroy(@Param('id', ParseIntPipe) id: number): void {
    if (!this.articles.delete(id)) throw new NotFoundException({ detail: 'Not found.' });
  }
}
