export { CacheModule, CACHE_MANAGER } from '@nestjs/cache-manager';
export { createCache, type Cache } from 'cache-manager';
