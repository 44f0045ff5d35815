import type { OutboundSettings } from '../db/outbound-settings';
import type { SyncedSnapshot } from '../db/provisioning';
import { registeredForUsers, type EntraDirectory, type EntraUser, type ExtensionDefinition } from '../graph/directory';
import { ProvisioningError } from '../graph/errors';
import { maxLengthOf } from '../graph/property-limits';
import {
  accountEnabledFor,
  buildDesiredUser,
  createBody,
  diffUser,
  extensionAppId,
  extensionTargets,
  selectFor,
  upnDomain,
  withDateTimeExtensions,
  type DesiredUser,
  type HrEmployee,
} from '../graph/mapping';
import { ErrorTypes } from '../workflows/messages';

/**
 * What one sync would do, worked out with reads only. The activity executes it; the admin API's preview shows it.
 * Order of checks follows the cheapest-first rule: data problems before any Graph call, then definitions and
 * domains (cached), then the target account.
 */
export type SyncPlan = (
  | { action: 'create'; body: DesiredUser; manager: ManagerStep }
  | {
      action: 'update';
      objectId: string;
      /** Found by UPN, not by the stored id: the object id must be stored first. */
      adopted: boolean;
      /** Only what differs; empty means nothing is written. */
      patch: DesiredUser;
      manager: ManagerStep;
      /** Planned against what the last sync wrote, without reading the account (it may since be gone). */
      fromSnapshot: boolean;
    }
) & {
  /** The mapped properties Entra holds once the plan is carried out (what the next sync compares with). */
  desired: DesiredUser;
  /** The manager link Entra holds afterwards, when managers are synced. */
  managerTarget: string | null;
};

/** Set the Entra manager relationship to this object id, remove it (the HR record has no manager), or nothing. */
export type ManagerStep = { set: string } | { remove: true } | null;

export interface PlanInput {
  directory: EntraDirectory & {
    freshVerifiedDomains?(): Promise<string[]>;
    freshExtensionDefinitions?(appIds: readonly string[]): Promise<ExtensionDefinition[]>;
  };
  settings: OutboundSettings;
  employee: HrEmployee;
  storedObjectId: string | null;
  /** The manager's Entra object id when the manager has been synced; null otherwise. */
  managerObjectId: string | null;
  /** What the last sync left in Entra; with it (and a stored object id) the account is not read again. */
  snapshot?: SyncedSnapshot;
  /**
   * When neither the stored object id nor the username finds the account, fail retryably instead of creating one:
   * Entra's reads lag a create by seconds, and a second POST would only meet the first account's username. Set for
   * a sync's first attempts; the last ones re-create an account deleted in Entra.
   */
  awaitStoredAccount?: boolean;
}

export async function planSync(input: PlanInput): Promise<SyncPlan> {
  const { directory, settings, employee } = input;
  const desired = buildDesiredUser(employee, settings.mapping);
  checkLengths(desired, settings.mapping);
  const definitions = await checkExtensions(input, Object.keys(desired));
  withDateTimeExtensions(
    desired,
    definitions.filter((d) => d.dataType.toLowerCase() === 'datetime').map((d) => d.name),
    settings.mapping,
  );
  await checkDomain(input);

  const wantsManager = settings.setManager && input.managerObjectId !== null;
  const managerTarget = wantsManager ? input.managerObjectId : null;
  // The HR record has no manager: a link in Entra goes. (A manager not yet in Entra leaves the link as it is.)
  const clearsManager = settings.setManager && !employee.managerId;
  if (input.storedObjectId && input.snapshot) {
    // The incremental path of a watched change: only what differs from the last sync, no read.
    const manager: ManagerStep =
      wantsManager && input.snapshot.managerObjectId !== managerTarget
        ? { set: managerTarget! }
        : clearsManager && input.snapshot.managerObjectId
          ? { remove: true }
          : null;
    return {
      action: 'update',
      objectId: input.storedObjectId,
      adopted: false,
      patch: diffUser(desired, input.snapshot.properties),
      manager,
      fromSnapshot: true,
      desired,
      managerTarget,
    };
  }

  const select = selectFor(settings.mapping);
  let target: EntraUser | null = null;
  let adopted = false;
  if (input.storedObjectId) target = await directory.getUser(input.storedObjectId, select);
  if (!target) {
    // Never synced (or the account was deleted in Entra): the username is the identifier, as in the article.
    target = await directory.findUserByUpn(employee.userName, select);
    adopted = target !== null;
  }

  if (!target && input.storedObjectId && input.awaitStoredAccount) {
    throw new ProvisioningError(
      ErrorTypes.GraphUnavailable,
      `Entra shows neither the account ${input.storedObjectId} stored for this employee nor one with its username; it may have been created moments ago and not be readable yet. Retrying shortly; if it was deleted in Entra, a later attempt creates it again.`,
      { retryable: true, retryAfterMs: 2000 },
    );
  }
  if (!target) {
    return {
      action: 'create',
      body: createBody(desired),
      manager: wantsManager ? { set: input.managerObjectId! } : null,
      desired,
      managerTarget,
    };
  }
  let manager: ManagerStep = null;
  if (wantsManager && (await directory.getManagerId(target.id)) !== input.managerObjectId) {
    manager = { set: input.managerObjectId! };
  } else if (clearsManager && (await directory.getManagerId(target.id)) !== null) {
    manager = { remove: true };
  }
  return {
    action: 'update',
    objectId: target.id,
    adopted,
    patch: diffUser(desired, target),
    manager,
    fromSnapshot: false,
    desired,
    managerTarget,
  };
}

/** What a person calls the HR value behind a Graph property, for a reason text. */
function sourceName(target: string, mapping: PlanInput['settings']['mapping']): string {
  if (target === 'userPrincipalName') return 'username';
  const source = mapping.find((m) => m.target === target)?.source;
  if (source) return `HR field ${source}`;
  return target === 'displayName' ? 'display name' : target;
}

/**
 * Values longer than Graph takes (employeeId: 16 characters, department: 64, ...): blocked here with the limit named,
 * instead of Graph's bare "Invalid value specified for property". The value itself stays out of the reason.
 */
function checkLengths(desired: DesiredUser, mapping: PlanInput['settings']['mapping']): void {
  for (const [target, value] of Object.entries(desired)) {
    const max = maxLengthOf(target);
    if (typeof value !== 'string' || max === undefined || value.length <= max) continue;
    throw new ProvisioningError(
      ErrorTypes.InvalidProperty,
      `The ${sourceName(target, mapping)} has ${value.length} characters; Entra ID takes at most ${max} for ${target}. Fix: shorten it in the HR system (the change syncs by itself), or map it to a property that takes it, then retry.`,
    );
  }
}

/**
 * Every mapped extension property must be registered for users and single-valued. Returns the definitions, named as
 * the mapping names them (the mapping's spelling is the key in the desired user).
 */
async function checkExtensions(input: PlanInput, desiredKeys: string[]): Promise<ExtensionDefinition[]> {
  const wanted = extensionTargets(input.settings.mapping).filter((t) => desiredKeys.includes(t));
  if (wanted.length === 0) return [];
  const find = (defs: ExtensionDefinition[], name: string) =>
    defs.find((d) => d.name.toLowerCase() === name.toLowerCase());
  const appIds = wanted.map(extensionAppId).filter((id): id is string => id !== undefined);
  let defs = await input.directory.extensionDefinitions(appIds);
  if (wanted.some((w) => !find(defs, w)) && input.directory.freshExtensionDefinitions) {
    defs = await input.directory.freshExtensionDefinitions(appIds);
  }
  const found: ExtensionDefinition[] = [];
  for (const name of wanted) {
    const def = find(defs, name);
    if (!def) {
      throw new ProvisioningError(
        ErrorTypes.InvalidProperty,
        `The mapping writes ${name}, which is not a directory extension property registered in the Entra tenant (on the app registration ${extensionAppId(name)}). Fix: register it on that app (targetObjects User) or correct the mapping, then retry.`,
      );
    }
    if (!registeredForUsers(def)) {
      throw new ProvisioningError(
        ErrorTypes.InvalidProperty,
        `The mapping writes ${name}, a directory extension property registered for ${def.targetObjects!.join(', ')} but not for users (targetObjects). Fix: register an extension property for User on that app and map to it, or correct the mapping, then retry.`,
      );
    }
    if (def.isMultiValued) {
      throw new ProvisioningError(
        ErrorTypes.MultiValuedExtension,
        `The mapping writes ${name}, a multi-valued extension property; only single-valued extension properties (isMultiValued: false) are supported. Fix: map to a single-valued extension property, then retry.`,
      );
    }
    found.push({ ...def, name });
  }
  return found;
}

async function checkDomain(input: PlanInput): Promise<void> {
  const upn = input.employee.userName;
  const domain = upnDomain(upn);
  let verified = await input.directory.verifiedDomains();
  if (!verified.includes(domain) && input.directory.freshVerifiedDomains)
    verified = await input.directory.freshVerifiedDomains();
  if (!verified.includes(domain)) {
    throw new ProvisioningError(
      ErrorTypes.DomainNotVerified,
      `The domain "${domain || '(none)'}" of the username (which becomes the userPrincipalName) is not a verified domain of the Entra tenant (verified: ${verified.join(', ') || 'none'}). Fix: correct the employee's username in the HR system (SCIM userName; the change syncs by itself), or add and verify the domain in Entra ID, then retry.`,
    );
  }
}

/**
 * The one write a blocked sync still makes: the account of an employee who left (a lifecycle without an enabled
 * account) is disabled even when the rest of the sync waits for a person — a username in an unverified domain or taken
 * in Entra, a property Entra refuses, a missing name. A block must not leave a leaver's account usable. Only for the
 * account this employee has in Entra (a stored object id), unless the last sync already disabled it.
 */
export function disableWhileBlocked(
  input: Pick<PlanInput, 'employee' | 'storedObjectId' | 'snapshot'>,
): { objectId: string; patch: { accountEnabled: false } } | null {
  if (!input.storedObjectId || accountEnabledFor(input.employee.lifecycleStatus)) return null;
  if (input.snapshot?.properties.accountEnabled === false) return null;
  return { objectId: input.storedObjectId, patch: { accountEnabled: false } };
}

/** The plan as the preview shows it (no password exists at this point; the create body never has one). */
export function describePlan(plan: SyncPlan): Record<string, unknown> {
  if (plan.action === 'create') {
    return {
      action: 'create',
      request: {
        method: 'POST',
        path: '/v1.0/users',
        body: {
          ...plan.body,
          passwordProfile: { forceChangePasswordNextSignIn: true, password: '(generated at creation, never stored)' },
        },
      },
      manager: plan.manager,
    };
  }
  const writes = Object.keys(plan.patch).length > 0;
  return {
    action: writes || plan.manager ? 'update' : 'none',
    // What the plan compared with: the last sync's snapshot (a change-driven sync), or the account read from Entra.
    basis: plan.fromSnapshot ? 'last-sync' : 'entra',
    entraObjectId: plan.objectId,
    adopt: plan.adopted,
    request: writes ? { method: 'PATCH', path: `/v1.0/users/${plan.objectId}`, body: plan.patch } : null,
    manager: plan.manager,
  };
}
