import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';

// The wall between layers (STYLE.md): ui -> state -> core, worker -> core, cli -> core.
// core never imports React, the store, the DOM-facing layers or Node-only code.
const coreRestrictions = {
  patterns: [
    {
      group: ['react', 'react-dom', 'react/*', 'zustand', 'zustand/*', 'recharts'],
      message: 'core must not depend on UI libraries.',
    },
    {
      group: ['**/ui/**', '**/state/**', '**/worker/**', '**/cli/**', '**/node/**'],
      message: 'core must not import outer layers.',
    },
    { group: ['node:*', 'fs', 'path'], message: 'core runs in the browser too: no Node built-ins.' },
  ],
};

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'public', 'test-results', 'playwright-report', 'bin'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['src/core/**/*.ts'], rules: { 'no-restricted-imports': ['error', coreRestrictions] } },
  {
    files: ['src/state/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/ui/**', 'react-dom'], message: 'state must not import ui.' }] },
      ],
    },
  },
  {
    files: ['src/cli/**/*.ts', 'src/worker/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/ui/**', '**/state/**', 'react', 'zustand'], message: 'cli/worker use core only.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/ui/**/*.tsx', 'src/ui/**/*.ts'],
    plugins: { 'react-hooks': reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
);
