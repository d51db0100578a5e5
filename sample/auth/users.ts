/** A signed-in user of the sample, as the auth guard puts it on `request.user`. */
export interface SampleUser {
  readonly id: number;
  readonly username: string;
  /** The customer account the user belongs to; `TenantRateThrottle` counts per tenant. */
  readonly tenantId?: string;
  /** Support staff (DRF's `is_staff`): may use the throttle admin routes (`sample/admin/`). */
  readonly isStaff?: boolean;
}

/**
 * The sample's token table (DRF's `authtoken` table, in memory). Try them with
 * `curl -H 'Authorization: Token alice-token' localhost:3000/articles`.
 */
export const USERS_BY_TOKEN: ReadonlyMap<string, SampleUser> = new Map([
  ['alice-token', { id: 1, username: 'alice', tenantId: 'acme' }],
  ['bob-token', { id: 2, username: 'bob', tenantId: 'acme' }],
  ['carol-token', { id: 3, username: 'carol', tenantId: 'globex' }],
  // No tenant: TenantRateThrottle skips dave.
  ['dave-token', { id: 4, username: 'dave' }],
  // Support staff: the admin routes (GET/DELETE/POST /admin/throttles/...).
  ['staff-token', { id: 5, username: 'staff', isStaff: true }],
]);
