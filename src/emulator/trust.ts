import tls from 'node:tls';

/**
 * FOR TESTS ONLY. Makes this already-running Node process trust the emulator's self-signed certificate, for
 * clients that take no CA option: the Graph JS client (global `fetch`) in particular.
 *
 * Why: `NODE_EXTRA_CA_CERTS` is the clean way, but Node reads it only at process start, and a jest worker is
 * already running when a test generates or learns the certificate. Node builds every TLS client context through
 * `tls.createSecureContext` (https.request and fetch/undici alike), so adding the certificate to each context that
 * uses the default roots has the same effect as `NODE_EXTRA_CA_CERTS`. Contexts with an explicit `ca` are left as
 * they are. Returns a function that undoes the patch.
 */
export function trustCertificateInProcess(certPem: string): () => void {
  const original = tls.createSecureContext;
  const patched: typeof tls.createSecureContext = (options) => {
    const context = original(options);
    if (!options?.ca) (context as unknown as { context: { addCACert(pem: string): void } }).context.addCACert(certPem);
    return context;
  };
  (tls as { createSecureContext: typeof tls.createSecureContext }).createSecureContext = patched;
  return () => {
    if (tls.createSecureContext === patched)
      (tls as { createSecureContext: typeof tls.createSecureContext }).createSecureContext = original;
  };
}
