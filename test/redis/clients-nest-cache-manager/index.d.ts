export { CacheModule, CACHE_MANAGER } from '@nestjs/cache-manager';
export { createCache, type Cache } from 'cache-manager';
// Keyv as cache-manager 7's (ES module) typings see it: the CommonJS view of keyv's typings is another class to TypeScript.
export { Keyv } from 'keyv';
