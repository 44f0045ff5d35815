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
