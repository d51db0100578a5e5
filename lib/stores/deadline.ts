/**
 * `work`, or a rejection once `ms` have passed, whichever comes first. The
 * abandoned promise's late rejection is swallowed so it never becomes an
 * unhandled one, and the timer is cleared as soon as either settles.
 */
export function withDeadline<T>(pending: Promise<T> | T, ms: number): Promise<T> {
  const work = Promise.resolve(pending);
  if (!Number.isFinite(ms)) return work;
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
