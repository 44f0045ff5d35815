/**
 * Where a tenant's outbound settings may send its client secret and Graph tokens. A tenant admin sets
 * `authorityHost` and `graphBaseUrl`; without a bound, an admin token could aim the worker (and Test connection) at
 * any HTTPS server: a server of their own, or one inside the worker's network. So only Microsoft's sign-in
 * authorities and Graph deployments are accepted, plus the origins the operator lists in GRAPH_ALLOWED_ORIGINS (the
 * emulator in `make start` and tests, or a Graph proxy of their own).
 */

/** Microsoft Entra sign-in authorities: global, US Government, China (21Vianet, old and new host). */
export const MICROSOFT_AUTHORITY_ORIGINS: readonly string[] = [
  'https://login.microsoftonline.com',
  'https://login.microsoftonline.us',
  'https://login.chinacloudapi.cn',
  'https://login.partner.microsoftonline.cn',
];

/** Microsoft Graph deployments: global, US Government L4 and L5 (DoD), China (21Vianet). */
export const MICROSOFT_GRAPH_ORIGINS: readonly string[] = [
  'https://graph.microsoft.com',
  'https://graph.microsoft.us',
  'https://dod-graph.microsoft.us',
  'https://microsoftgraph.chinacloudapi.cn',
];

export type EndpointField = 'authorityHost' | 'graphBaseUrl';

/** The origin (scheme, host, port) of an https URL, or undefined when it is not one. */
export function httpsOrigin(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Parses GRAPH_ALLOWED_ORIGINS: https URLs separated by commas or whitespace, reduced to their origins. Throws on an
 * entry that is not an https URL, so a typo fails at start instead of refusing every tenant's settings later.
 */
export function parseAllowedOrigins(list: string | undefined): string[] {
  const entries = (list ?? '').split(/[\s,]+/).filter(Boolean);
  const origins = entries.map((entry) => {
    const origin = httpsOrigin(entry);
    if (!origin) throw new Error(`'${entry}' is not an https URL`);
    return origin;
  });
  return [...new Set(origins)];
}

/**
 * Why `url` may not be used for `field`, or undefined when it may. Unset (null) means Microsoft's global cloud,
 * which is always allowed.
 */
export function endpointRefusal(
  field: EndpointField,
  url: string | null | undefined,
  allowedOrigins: readonly string[],
): string | undefined {
  if (url === null || url === undefined) return undefined;
  const microsoft = field === 'authorityHost' ? MICROSOFT_AUTHORITY_ORIGINS : MICROSOFT_GRAPH_ORIGINS;
  const origin = httpsOrigin(url);
  if (origin && (microsoft.includes(origin) || allowedOrigins.includes(origin))) return undefined;
  const what = field === 'authorityHost' ? 'a Microsoft sign-in authority' : 'a Microsoft Graph deployment';
  // The operator's own origins are not listed: they may name internal hosts.
  return `${field} ${url} is not ${what} (${microsoft.join(', ')}) nor an origin the operator of this server allows (GRAPH_ALLOWED_ORIGINS)`;
}

/** The refusals of a connection's two endpoints, empty when both may be used. */
export function endpointRefusals(
  conn: { authorityHost?: string | null; graphBaseUrl?: string | null },
  allowedOrigins: readonly string[],
): Array<{ field: EndpointField; message: string }> {
  return (['authorityHost', 'graphBaseUrl'] as const).flatMap((field) => {
    const message = endpointRefusal(field, conn[field], allowedOrigins);
    return message ? [{ field, message }] : [];
  });
}
