import tseslint from 'typescript-eslint';
import boundaries from 'eslint-plugin-boundaries';

/**
 * The layers (issue 10), as eslint-plugin-boundaries elements; the first descriptor a file matches
 * wins, so each folder comes before the folder that holds it. Imports are resolved by
 * eslint-import-resolver-typescript (`./x.js` is `./x.ts`): without a resolver the plugin would
 * see no local import at all, and every rule would pass.
 */
const ELEMENTS = [
  // Pure: no I/O, imports only itself.
  { type: 'core', pattern: 'src/core', partialMatch: false },
  // The pool's pure half (its model and planners): no I/O, imports only core and itself.
  { type: 'pool-plan', pattern: 'src/ipamd/pool/plan', partialMatch: false },
  // One cloud's provider: src/providers/<cloud>.
  { type: 'provider', pattern: 'src/providers/*', capture: ['cloud'], partialMatch: false },
  // What every provider shares: src/providers/*.ts.
  { type: 'providers-shared', pattern: 'src/providers', partialMatch: false },
  // What every emulator shares: the fabric, fault plans, helpers, and src/emulator/*.ts.
  { type: 'emulator-shared', pattern: 'src/emulator/(fabric|faults|shared)', partialMatch: false },
  // One cloud's emulator: src/emulator/<cloud>.
  { type: 'emulator', pattern: 'src/emulator/*', capture: ['cloud'], partialMatch: false },
  { type: 'emulator-shared', pattern: 'src/emulator', partialMatch: false },
  // The daemon, the plugin, the CLI, the demo, the simulators.
  { type: 'app', pattern: 'src', partialMatch: false },
  { type: 'bench', pattern: 'bench', partialMatch: false },
  { type: 'test', pattern: 'test', partialMatch: false },
  { type: 'scripts', pattern: 'scripts', partialMatch: false },
];

const to = (...types) => ({ to: { element: { types: { anyOf: types } } } });
const notTo = (...types) => ({ to: { element: { types: { noneOf: types } } } });

/**
 * src/core and the pool's planner are pure: they import nothing but core (no package, no Node
 * module). A provider imports only core, the providers' shared files and its own cloud's folder;
 * an emulator never imports a provider, nor another cloud's emulator; nothing in src/ imports
 * test/; nothing imports bench/. Imports within one element are not checked (a cloud's folder
 * imports itself). The last policy that matches decides, so the bans on packages come last.
 * test/unit/layer-rules.test.ts proves each fires.
 */
export const LAYER_RULES = [
  {
    files: ['**/*.ts'],
    plugins: { boundaries },
    settings: {
      'boundaries/elements': ELEMENTS,
      // The emulators' registry, the one shared file that names each cloud's emulator.
      'boundaries/files': [{ category: 'emulator-registry', pattern: 'src/emulator/clouds.ts' }],
      'boundaries/include': ['src/**', 'test/**', 'bench/**', 'scripts/**'],
      'boundaries/dependency-nodes': ['import', 'export', 'dynamic-import'],
      'boundaries/legacy-templates': false,
      'import/resolver': { typescript: { project: './tsconfig.json' } },
    },
    rules: {
      'boundaries/dependencies': ['error', {
        default: 'disallow',
        checkAllOrigins: true,
        checkUnknownLocals: true,
        message: '{{ from.element.types.[0] }} may not import {{ to.element.types.[0] }} ({{ dependency.source }})',
        policies: [
          // Packages and Node's built-ins, but for the I/O ban at the end.
          { allow: { to: { module: { origin: ['external', 'core'] } } } },
          { from: { element: { type: 'core' } }, allow: to('core') },
          { from: { element: { type: 'pool-plan' } }, allow: to('core') },
          { from: { element: { type: 'providers-shared' } }, allow: to('core') },
          { from: { element: { type: 'provider' } }, allow: to('core', 'providers-shared') },
          { from: { element: { type: 'provider' } }, allow: { to: { element: { type: 'provider', captured: { cloud: '{{ from.element.captured.cloud }}' } } } } },
          { from: { element: { types: { anyOf: ['emulator-shared', 'emulator'] } } }, allow: notTo('provider', 'providers-shared', 'emulator', 'bench', 'test') },
          { from: { element: { type: 'emulator' } }, allow: { to: { element: { type: 'emulator', captured: { cloud: '{{ from.element.captured.cloud }}' } } } } },
          { from: { file: { categories: 'emulator-registry' } }, allow: to('emulator') },
          { from: { element: { type: 'app' } }, allow: notTo('bench', 'test') },
          { from: { element: { types: { anyOf: ['test', 'scripts'] } } }, allow: notTo('bench') },
          { from: { element: { type: 'bench' } }, allow: { to: { module: { origin: 'local' } } } },
          {
            from: { element: { types: { anyOf: ['core', 'pool-plan'] } } },
            disallow: { to: { module: { origin: ['external', 'core'] } } },
            message: '{{ from.element.types.[0] }} is pure: it imports no package and no Node module ({{ dependency.source }})',
          },
        ],
      }],
    },
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
