/**
 * DRF's `ImproperlyConfigured`: the throttling configuration cannot work.
 * Raised while the application starts (`app.init()` rejects with it), so a
 * missing or malformed rate never silently turns a limit off.
 */
export class ImproperlyConfiguredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImproperlyConfiguredError';
  }
}
