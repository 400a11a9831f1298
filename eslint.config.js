// Boundaries the architecture depends on, enforced rather than hoped for (run by `npm test`):
// - workflows/ is deterministic code: it imports @temporalio/workflow, its own modules, and types;
// - activities/ never import workflow code (only its types);
// - src/domain/ is pure: no I/O modules, no database, no Temporal, no HTTP.
import tseslint from 'typescript-eslint';

const typesOnly = (message, regex) => ({ regex, allowTypeImports: true, message });

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.hookwise/**', 'console/dist/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {},
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            typesOnly(
              'Workflow code stays deterministic: import only @temporalio/workflow and workflows/ modules (anything else as `import type`).',
              '^(?!@temporalio/workflow$|\\./)',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['activities/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [typesOnly('Activities must not import workflow code (types only).', '(^|/)workflows/')] },
      ],
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            typesOnly(
              'src/domain is pure logic: no I/O (database, network, files, Temporal, HTTP frameworks).',
              '^(node:)?(fs|fs/promises|http|https|net|dns|child_process|dgram|tls)$|^(pg|koa|@koa/.*|openai|ws|@temporalio/.*)$|^\\.\\./(db|api|temporal|flows|delivery|rooms|generic|stream|llm|roots|main|dev)/',
            ),
          ],
        },
      ],
    },
  },
);
