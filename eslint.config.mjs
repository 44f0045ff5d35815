// Lint rules worth having: type-aware promise checks everywhere, and workflow code kept deterministic
// (no Node built-ins, no I/O libraries) as Temporal's samples enforce.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.data/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Prettier owns layout and breaks `request(app)[method](…)` chains across lines (eslint-config-prettier turns
      // this rule off for the same reason).
      'no-unexpected-multiline': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'workflow code must be deterministic: no Node built-ins' },
            {
              group: ['fs', 'path', 'crypto', 'http', 'https', 'net', 'os', 'child_process'],
              message: 'no Node built-ins in workflows',
            },
            {
              group: [
                'knex',
                'pg',
                'express',
                '@microsoft/*',
                '@azure/*',
                '**/db/**',
                '**/graph/**',
                '**/activities/**',
              ],
              message: 'workflows reach the world only through activities (type imports are fine)',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
