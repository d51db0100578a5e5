import { hashIdent, SimpleRateThrottle, type ThrottleRequest } from 'restflow-throttle';

/**
 * The docs' `ApiKeyRateThrottle`: partners are counted by the key they send
 * in `X-API-Key`, at the `api_key` rate. No key, no throttling by this class.
 * An API key is a secret, so only its SHA-256 (`hashIdent`) reaches the
 * cache, where anyone who can read the cache could otherwise copy it.
 */
export class ApiKeyRateThrottle extends SimpleRateThrottle {
  override scope = 'api_key';

  getCacheKey(request: ThrottleRequest): string | null {
    const header = request.headers['x-api-key'];
    const apiKey = Array.isArray(header) ? header[0] : header;
    if (!apiKey) return null;
    return this.formatKey(hashIdent(apiKey));
  }
}
