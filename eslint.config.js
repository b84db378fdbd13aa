import tseslint from 'typescript-eslint';

/** Module specifiers that do I/O: the pure core imports none of them. */
const IO_MODULES = ['fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'child_process', 'dgram', 'dns', 'os', 'worker_threads', 'cluster', 'tls', 'readline'].flatMap((m) => [m, `node:${m}`]);

/** Folders of src/ by layer, as import-specifier patterns (any depth of ../). */
const layer = (...folders) => folders.map((f) => `**/${f}/**`);
const OUTSIDE_CORE = layer('ipamd', 'providers', 'emulator', 'cni', 'rpc', 'kube', 'cli', 'demo');

/**
 * The layers (issue 10): src/core is pure and imports only itself; a provider imports only core
 * (and the providers' shared files), never another cloud's provider; an emulator never imports a
 * provider; nothing in src/ or scripts/ imports bench/. Checked by ESLint's own no-restricted-imports,
 * on every file of the group; test/unit/layer-rules.test.ts proves each zone fires.
 */
export const LAYER_RULES = [
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: IO_MODULES.map((name) => ({ name, message: 'src/core is pure: no I/O modules' })),
        patterns: [{ group: OUTSIDE_CORE, message: 'src/core imports only src/core' }],
      }],
    },
  },
  {
    files: ['src/providers/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: layer('ipamd', 'emulator', 'cni', 'rpc', 'kube', 'cli', 'demo', 'bench'), message: 'a provider imports only src/core (and src/providers/*.ts)' }],
      }],
    },
  },
  {
    files: ['src/providers/aws/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/azure/**', '**/emulator/**', ...layer('ipamd', 'cni', 'rpc', 'kube', 'cli', 'demo', 'bench')], message: 'a provider imports only src/core (and src/providers/*.ts), never another cloud' }] }] },
  },
  {
    files: ['src/providers/azure/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/aws/**', '**/emulator/**', ...layer('ipamd', 'cni', 'rpc', 'kube', 'cli', 'demo', 'bench')], message: 'a provider imports only src/core (and src/providers/*.ts), never another cloud' }] }] },
  },
  {
    files: ['src/emulator/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: layer('providers', 'bench'), message: 'an emulator never imports a provider (nor bench/)' }] }] },
  },
  {
    files: ['src/ipamd/**/*.ts', 'src/cni/**/*.ts', 'src/rpc/**/*.ts', 'src/kube/**/*.ts', 'src/cli/**/*.ts', 'src/demo/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: layer('bench'), message: 'nothing imports bench/' }] }] },
  },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...LAYER_RULES,
);
