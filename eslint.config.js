import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The floors of src/ (ARCHITECTURE.md): imports point downward, client → pipeline →
// policies/transport/stores/observability → http → errors/clock/validate. Each entry names the
// files of a floor and the folders above it that they must not import. Nothing imports client/
// (only the entry point src/index.ts does) and nothing imports the test kit testing/.
const RULE =
  'imports point downward: client → pipeline → policies/transport/stores/observability → http → errors/clock/validate (ARCHITECTURE.md)';
const FLOORS = [
  {
    files: ['src/*.ts'],
    above: ['client', 'pipeline', 'policies', 'transport', 'stores', 'observability', 'http', 'testing'],
    except: ['src/index.ts'],
  },
  {
    files: ['src/http/**/*.ts'],
    above: ['client', 'pipeline', 'policies', 'transport', 'stores', 'observability', 'testing'],
  },
  {
    files: ['src/policies/**/*.ts'],
    above: ['client', 'pipeline', 'transport', 'stores', 'observability', 'http', 'testing'],
  },
  {
    files: ['src/transport/**/*.ts', 'src/stores/**/*.ts', 'src/observability/**/*.ts'],
    above: ['client', 'pipeline', 'testing'],
  },
  { files: ['src/pipeline/**/*.ts'], above: ['client', 'testing'] },
  { files: ['src/client/**/*.ts'], above: ['testing'] },
  { files: ['src/testing/**/*.ts'], above: ['client'] },
];

export const floorRules = FLOORS.map(({ files, above, except = [] }) => ({
  files,
  ignores: except,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: above.map((floor) => ({
          // `./x/`, `../x/`, `../../x/`: the folder x of src/, reached from any depth.
          regex: `^(\\./|(\\.\\./)+)${floor}/`,
          message: `src/${floor}/ stands above this file: ${RULE}.`,
        })),
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'lab/reports/', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/unified-signatures': 'off',
    },
  },
  ...floorRules,
  {
    files: ['test/**', 'bench/**', 'lab/**', 'examples/**', 'scripts/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
              package: 'node:test',
            },
          ],
        },
      ],
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off',
    },
  },
);
