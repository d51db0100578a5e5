import { SimpleRateThrottle, type ThrottleRequest } from 'restflow-throttle';

/**
 * The docs' `ApiKeyRateThrottle`: partners are counted by the key they send
 * in `X-API-Key`, at the `api_key` rate. No key, no throttling by this class.
 * (Long or odd keys are hashed by `formatKey`, so a key never lands in the
 * cache as written.)
 */
export class ApiKeyRateThrottle extends SimpleRateThrottle {
  override scope = 'api_key';

  getCacheKey(request: ThrottleRequest): string | null {
    const header = request.headers['x-api-key'];
    const apiKey = Array.isArray(header) ? header[0] : header;
    if (!apiKey) return null;
    return this.formatKey(apiKey);
  }
}
