// Resolved from this directory: '@nestjs/cache-manager' finds its cache-manager 7 here,
// and '@nestjs/common', 'keyv' and 'rxjs' in the repository's node_modules.
export { CacheModule, CACHE_MANAGER } from '@nestjs/cache-manager';
export { createCache } from 'cache-manager';
export { Keyv } from 'keyv';
