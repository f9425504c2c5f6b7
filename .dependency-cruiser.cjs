/**
 * The layering of corefit's sources (ARCHITECTURE.md, "Layers"): each layer may import
 * its own and the layers listed before it, never one listed after it, and no import
 * may close a cycle. `npm run lint` checks it.
 */
const LAYERS = [
  ['base', '^src/(errors|rng|paths|output|output-dir|io-problem|machine|median)\\.ts$'],
  ['model', '^src/model/'],
  ['data', '^src/data/'],
  ['optim', '^src/optim/'],
  ['engine', '^src/engine/'],
  ['parallel', '^src/parallel/'],
  ['checkpoint', '^src/checkpoint/'],
  ['report', '^src/report/'],
  ['lint', '^src/lint/'],
  ['eval', '^src/eval/'],
  ['train', '^src/train/'],
  ['dashboard', '^src/dashboard/'],
  ['bench', '^src/bench/'],
  ['cli', '^src/(cli/|cli\\.ts$|index\\.ts$)'],
];

const upward = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `${name}-looks-down-only`,
  comment: `${name} may import only ${LAYERS.slice(0, i + 1)
    .map(([n]) => n)
    .join(', ')}`,
  severity: 'error',
  from: { path },
  to: { path: LAYERS.slice(i + 1).map(([, p]) => p) },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'An import cycle ties modules that should be layered.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: 'parallel-uses-the-engine-interface',
      comment: 'The parallel layer computes through the Engine interface and engine selection, never through one engine.',
      severity: 'error',
      from: { path: '^(src/parallel/|workers/)' },
      to: { path: '^src/engine/', pathNot: '^src/engine/(engine|select)\\.ts$' },
    },
    {
      name: 'workers-run-engines-and-steps-only',
      comment: 'Worker threads load the engine and the parallel layer, nothing above them.',
      severity: 'error',
      from: { path: '^workers/' },
      to: { path: '^src/', pathNot: ['^src/(engine|parallel|model|data|optim)/', LAYERS[0][1]] },
    },
    {
      name: 'sources-do-not-import-tests-or-scripts',
      severity: 'error',
      from: { path: '^(src|workers)/' },
      to: { path: '^(test|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|build|node_modules)/' },
    // Type-only imports count: a layer that names a higher layer's types depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
