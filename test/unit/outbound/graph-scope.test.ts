import { graphScope } from '../../../src/graph/client';

describe('Graph token scope per cloud', () => {
  it('asks a national cloud for a token for its own Graph, everything else for the global service', () => {
    expect(graphScope('https://graph.microsoft.us/v1.0')).toBe('https://graph.microsoft.us/.default');
    expect(graphScope('https://dod-graph.microsoft.us')).toBe('https://dod-graph.microsoft.us/.default');
    expect(graphScope('https://microsoftgraph.chinacloudapi.cn')).toBe(
      'https://microsoftgraph.chinacloudapi.cn/.default',
    );
    expect(graphScope(null)).toBe('https://graph.microsoft.com/.default');
    expect(graphScope('https://graph.microsoft.com/v1.0')).toBe('https://graph.microsoft.com/.default');
    // The emulator (any other host) issues tokens for the global audience.
    expect(graphScope('https://127.0.0.1:8443/v1.0')).toBe('https://graph.microsoft.com/.default');
  });
});
