// ESLint: the JavaScript and typescript-eslint recommended rules over sources, workers, scripts and tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** What the plain JavaScript files (build scripts, configs) use of Node's globals. */
const NODE_GLOBALS = { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' };

/** What the dashboard page's script (it runs in the browser) uses of the browser's globals. */
const BROWSER_GLOBALS = Object.fromEntries(
  ['window', 'document', 'location', 'performance', 'setTimeout', 'clearTimeout', 'requestAnimationFrame', 'URLSearchParams', 'EventSource', 'console'].map(
    (name) => [name, 'readonly'],
  ),
);

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['**/*.js', '**/*.mjs'], ignores: ['src/dashboard/page/'], languageOptions: { globals: NODE_GLOBALS } },
  { files: ['src/dashboard/page/*.js'], languageOptions: { sourceType: 'script', globals: BROWSER_GLOBALS } },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { ...NODE_GLOBALS, module: 'writable', require: 'readonly' } } },
  {
    rules: {
      // `_` marks an argument or binding that is there for its position only.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
);
