/**
 * One jest run covers every tier (unit, integration on real PostgreSQL, workflows on the time-skipping Temporal
 * server, e2e on the whole stack). globalSetup starts one PostgreSQL (embedded unless DATABASE_URL is set) and one
 * Temporal dev server for all files; each file gets its own database cloned from a migrated template.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  testTimeout: 60_000,
  maxWorkers: 2,
  // Temporal's native bridge keeps handles open after tests (sdk-typescript#928); the run must still end.
  forceExit: true,
};
