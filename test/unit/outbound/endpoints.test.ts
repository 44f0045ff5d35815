import { loadConfig } from '../../../src/config';
import { endpointRefusal, parseAllowedOrigins } from '../../../src/graph/endpoints';

describe('where outbound settings may point', () => {
  it("allows Microsoft's clouds for their own field only, and listed origins exactly", () => {
    const allowed = ['https://127.0.0.1:8443'];
    expect(endpointRefusal('authorityHost', 'https://login.microsoftonline.us', [])).toBeUndefined();
    expect(endpointRefusal('graphBaseUrl', 'https://graph.microsoft.com/v1.0', [])).toBeUndefined();
    expect(endpointRefusal('graphBaseUrl', null, [])).toBeUndefined();
    // A Graph host is no sign-in authority, and the reverse.
    expect(endpointRefusal('authorityHost', 'https://graph.microsoft.com', [])).toMatch(/not a Microsoft sign-in/);
    expect(endpointRefusal('graphBaseUrl', 'https://login.microsoftonline.com', [])).toMatch(/not a Microsoft Graph/);
    expect(endpointRefusal('graphBaseUrl', 'https://127.0.0.1:8443/v1.0', allowed)).toBeUndefined();
    for (const url of [
      'https://127.0.0.1:8444/v1.0',
      'http://127.0.0.1:8443',
      'https://graph.microsoft.com.evil.example',
      'https://user@graph.microsoft.com.evil.example',
      'not a url',
    ]) {
      expect(endpointRefusal('graphBaseUrl', url, allowed)).toMatch(
        /is not a Microsoft Graph deployment .*GRAPH_ALLOWED_ORIGINS/,
      );
    }
    // The operator's origins may name internal hosts: a tenant admin is not told them.
    expect(endpointRefusal('graphBaseUrl', 'https://x.example', ['https://proxy.corp.internal'])).not.toContain(
      'corp.internal',
    );
  });

  it('reads GRAPH_ALLOWED_ORIGINS as https origins and refuses anything else at start', () => {
    expect(
      parseAllowedOrigins(' https://127.0.0.1:8443/v1.0, https://graph-proxy.contoso.test https://127.0.0.1:8443 '),
    ).toEqual(['https://127.0.0.1:8443', 'https://graph-proxy.contoso.test']);
    expect(parseAllowedOrigins(undefined)).toEqual([]);
    expect(loadConfig({ GRAPH_ALLOWED_ORIGINS: 'https://a.test,https://b.test:9' }).GRAPH_ALLOWED_ORIGINS).toEqual([
      'https://a.test',
      'https://b.test:9',
    ]);
    expect(() => loadConfig({ GRAPH_ALLOWED_ORIGINS: 'http://a.test' })).toThrow(
      /GRAPH_ALLOWED_ORIGINS: 'http:\/\/a.test' is not an https URL/,
    );
  });
});
