/**
 * Application permissions (token `roles`) each operation accepts, least privileged first (graph.md §1, §8, §9).
 * Graph checks these per request and answers 403 Authorization_RequestDenied when none is granted.
 */

export const USER_READ = [
  'User.Read.All',
  'User.ReadWrite.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
] as const;
export const USER_WRITE = ['User.ReadWrite.All', 'Directory.ReadWrite.All'] as const;
/**
 * PATCH /users/{id}: the permissions Graph lists for updating a user (graph.md §1/§6 [V]). Each one covers only
 * some properties, so the route lets any of them in and validation checks every property (`mayUpdateUserProperty`).
 */
export const USER_UPDATE = [
  'User.ManageIdentities.All',
  'User.EnableDisableAccount.All',
  'User.ReadWrite.All',
  'Directory.ReadWrite.All',
] as const;
/**
 * An app-only `passwordProfile` update needs this permission; User.ReadWrite.All and Directory.ReadWrite.All do not
 * reset passwords (user-update docs: least privileged for passwordProfile; Directory.ReadWrite.All's description:
 * "does not allow … reset user passwords"; 403 with User.ReadWrite.All alone [R]). Real Entra also wants the app to
 * hold an admin role such as User Administrator; the emulator has no directory roles, so it checks the permission only.
 */
export const PASSWORD_PROFILE_WRITE = ['User-PasswordProfile.ReadWrite.All'] as const;
/**
 * `accountEnabled` alone: User.EnableDisableAccount.All together with User.Read.All is the least privileged
 * combination Microsoft documents (user-update docs, permissions change log of December 2024).
 */
export const ACCOUNT_ENABLED_WRITE = ['User.EnableDisableAccount.All'] as const;

/**
 * Whether an app-only caller may change this user property in a PATCH. `identities` (contract `writePermissions`:
 * User.ManageIdentities.All) is checked from the contract, not here. Everything else needs the general write
 * permissions: User.ManageIdentities.All "can only be used to manage the user's identities property" (Microsoft Q&A
 * answer, 2024 [R]).
 */
export function mayUpdateUserProperty(property: string, granted: readonly string[]): boolean {
  if (property === 'passwordProfile') return hasAnyPermission(granted, PASSWORD_PROFILE_WRITE);
  if (property === 'accountEnabled' && hasAnyPermission(granted, ACCOUNT_ENABLED_WRITE)) {
    return hasAnyPermission(granted, USER_READ);
  }
  return hasAnyPermission(granted, USER_WRITE);
}
export const DOMAIN_READ = [
  'Domain.Read.All',
  'Domain.ReadWrite.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
] as const;
export const ORGANIZATION_READ = [
  'Organization.Read.All',
  'Organization.ReadWrite.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
] as const;
export const APPLICATION_READ = [
  'Application.Read.All',
  'Application.ReadWrite.All',
  'Application.ReadWrite.OwnedBy',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
] as const;
export const DIRECTORY_READ = ['Directory.Read.All', 'Directory.ReadWrite.All'] as const;
export const APPLICATION_WRITE = [
  'Application.ReadWrite.OwnedBy',
  'Application.ReadWrite.All',
  'Directory.ReadWrite.All',
] as const;

export function hasAnyPermission(granted: readonly string[], accepted: readonly string[]): boolean {
  for (const p of granted) if (accepted.includes(p)) return true;
  return false;
}
