// ESLint flat config. Besides the usual TypeScript rules it keeps each layer in its place:
// main/engine never imports electron or react, renderer never imports Node built-ins,
// shared imports neither (see docs/ARCHITECTURE.md).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'
import { builtinModules } from 'node:module'

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)]
const nodeBuiltinPatterns = nodeBuiltins.map((name) => ({
  name,
  message: 'This layer must not use Node built-ins (see docs/ARCHITECTURE.md).',
}))
const electronBan = { name: 'electron', message: 'Only main/app may import electron.' }
const reactBans = ['react', 'react-dom', 'react-dom/client'].map((name) => ({
  name,
  message: 'React belongs to renderer/ only.',
}))
const engineLibsBan = [
  'hypercore',
  'hyperswarm',
  'hyperdrive',
  'corestore',
  'hyperdht',
  'hyperbee',
  'autobase',
].map((name) => ({ name, message: 'Holepunch modules belong to main/engine only.' }))

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'renderer/dist/**',
      'release/**',
      'test/e2e/screenshots/**',
      'test/bench/work/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['main/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [electronBan, ...reactBans] }],
    },
  },
  {
    files: ['main/daemon/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [electronBan, ...reactBans] }],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': [
        'error',
        {
          paths: [electronBan, ...engineLibsBan, ...nodeBuiltinPatterns],
          patterns: ['**/main/**'],
        },
      ],
    },
  },
  {
    files: ['renderer/vite.config.ts', 'renderer/**/*.test.{ts,tsx}'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['shared/**/*.ts'],
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [electronBan, ...reactBans, ...engineLibsBan, ...nodeBuiltinPatterns],
          patterns: ['**/main/**', '**/renderer/**'],
        },
      ],
    },
  },
)
