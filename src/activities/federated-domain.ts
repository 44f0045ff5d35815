import type { EntraDirectory } from '../graph/directory';
import { ProvisioningError } from '../graph/errors';
import { ErrorTypes } from '../workflows/messages';
import { upnDomain } from '../graph/mapping';

/** A write that gives the account this userPrincipalName; `from` is the one it had, for a rename. */
export interface UpnWrite {
  to: string;
  from?: string;
  /** Whether the write carried onPremisesImmutableId (the mapping sends it). */
  sendsImmutableId: boolean;
}

/** Graph's whole answer to a federated UPN it will not take: it names neither the property nor the rule. */
const UNSPECIFIC_REFUSAL = /One or more properties contains? invalid values/i;

/**
 * The block for a UPN Entra refuses because of its domain's sign-in: an account created in, or renamed into, a
 * federated domain needs its on-premises anchor (onPremisesImmutableId); one renamed out of a federated domain needs
 * a new password, which this integration never sets on an existing account. Graph says only "One or more properties
 * contains invalid values.", so the domains are read (on this failure path only) to name the cause and the fix.
 * Any other failure, or a domain that cannot be read, is returned as it was.
 */
export async function explainFederatedUpn(
  directory: EntraDirectory,
  failure: ProvisioningError,
  write: UpnWrite,
): Promise<ProvisioningError> {
  if (failure.type !== ErrorTypes.InvalidProperty || !UNSPECIFIC_REFUSAL.test(failure.message)) return failure;
  const to = upnDomain(write.to);
  const from = write.from === undefined ? undefined : upnDomain(write.from);
  let toFederated: boolean;
  let fromFederated: boolean;
  try {
    toFederated = (await directory.domainAuthentication(to)) === 'Federated';
    fromFederated = from !== undefined && from !== to && (await directory.domainAuthentication(from)) === 'Federated';
  } catch {
    return failure;
  }
  if (toFederated && !fromFederated) {
    const anchor = write.sendsImmutableId
      ? 'the onPremisesImmutableId the mapping sends was refused (it must be non-empty, without "$" or "_")'
      : 'the mapping sends no onPremisesImmutableId';
    return new ProvisioningError(
      ErrorTypes.FederatedDomain,
      `The username's domain "${to}" is federated: Entra takes an account into it only with the user's on-premises anchor, and ${anchor}. Fix: map the HR field holding the on-premises immutable id to onPremisesImmutableId in the outbound settings, or give the employee a username in a managed domain, then retry.`,
      failure.info,
    );
  }
  if (fromFederated && !toFederated) {
    return new ProvisioningError(
      ErrorTypes.FederatedDomain,
      `The username moves from the federated domain "${from}" to "${to}", and Entra needs a new password for an account leaving a federated domain; this integration sets passwords only on accounts it creates. Fix: rename the account in Entra ID (which sets its password), then retry.`,
      failure.info,
    );
  }
  return failure;
}
