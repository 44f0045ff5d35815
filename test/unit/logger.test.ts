import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger';

/** The production logger, writing its JSON lines where the test reads them back. */
function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger('info', 'test', stream), lines };
}

describe('the logger', () => {
  it.each([
    ['at the top level', { password: 'kT9#mQ2vLp!x' }],
    ['one level down', { passwordProfile: { password: 'kT9#mQ2vLp!x' } }],
    ['two levels down', { req: { headers: { authorization: 'Bearer kT9#mQ2vLp!x' } } }],
    ['in a client secret', { settings: { graph: { clientSecret: 'kT9#mQ2vLp!x' } } }],
    ['in a token', { token: 'kT9#mQ2vLp!x' }],
  ])('never writes a secret %s', (_where, fields) => {
    const { logger, lines } = capturingLogger();
    logger.info(fields, 'something happened');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('kT9#mQ2vLp!x');
    expect(lines[0]).toContain('[redacted]');
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'something happened', name: 'test' });
  });

  it('keeps every other field as it is', () => {
    const { logger, lines } = capturingLogger();
    logger.warn({ tenantId: 't-1', employeeId: 'e-1', graph: { requestId: 'r-1' } }, 'blocked');
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, tenantId: 't-1', graph: { requestId: 'r-1' } });
  });
});
