import { Module } from '@nestjs/common';
import { SearchController } from './search.controller';

/** Docs topic "Cache backend": a throttle on its own cache alias. */
@Module({ controllers: [SearchController] })
export class CacheBackendModule {}
