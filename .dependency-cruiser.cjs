// The layer rules of Astreinte (docs/architecture.md, "Layers"). `npm test` runs them before the test suite
// (scripts/check-layers.sh) and fails naming each offending import. Layers, bottom up:
//   core/ -> config/ -> storage/ -> audit/ -> worker/ | gateway/ -> cli/ (the composition root)
// bench/, test/ and test-data/ sit beside the product: they may import it, the product never imports them.
const PRODUCT = '^(core|config|storage|audit|worker|gateway|cli)/';
const NOT_PRODUCT = '^(bench|test|test-data|viewer|scripts)/';

/** A rule forbidding imports from one layer into the given folders. */
const forbid = (name, comment, from, toFolders) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: `^(${toFolders.join('|')})/` },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Circular imports: split the shared part into a module both can import.',
      severity: 'error',
      from: { path: PRODUCT },
      to: { circular: true },
    },
    forbid('core-imports-nothing', 'core/ is the ground floor: it imports nothing of the project.', '^core/', [
      'config', 'storage', 'audit', 'worker', 'gateway', 'cli', 'bench', 'test', 'test-data', 'viewer',
    ]),
    forbid('config-imports-only-core', 'config/ imports only core/.', '^config/', [
      'storage', 'audit', 'worker', 'gateway', 'cli', 'bench', 'test', 'test-data', 'viewer',
    ]),
    forbid('storage-imports-only-core-and-config', 'storage/ imports only core/ and config/.', '^storage/', [
      'audit', 'worker', 'gateway', 'cli', 'bench', 'test', 'test-data', 'viewer',
    ]),
    forbid('audit-imports-below-it', 'audit/ imports core/, config/ and storage/ only.', '^audit/', [
      'worker', 'gateway', 'cli', 'bench', 'test', 'test-data', 'viewer',
    ]),
    forbid('worker-never-imports-gateway', 'worker/ and gateway/ meet only in cli/system.ts.', '^worker/', [
      'gateway', 'cli', 'bench', 'test', 'test-data', 'viewer',
    ]),
    forbid('gateway-never-imports-worker', 'gateway/ and worker/ meet only in cli/system.ts.', '^gateway/', [
      'worker', 'cli', 'bench', 'test', 'test-data', 'viewer',
    ]),
    {
      name: 'one-composition-root',
      comment: 'In cli/, only system.ts (which starts gateway and worker) and the entry point import worker/.',
      severity: 'error',
      from: { path: '^cli/', pathNot: '^cli/(system|astreinte-cli)\\.ts$' },
      to: { path: '^worker/' },
    },
    {
      name: 'product-never-imports-bench-or-tests',
      comment: 'Nothing of bench/, test/ or test-data/ goes into the build.',
      severity: 'error',
      from: { path: PRODUCT },
      to: { path: NOT_PRODUCT },
    },
    {
      name: 'worker-imports-no-http',
      comment: 'worker/ runs jobs: HTTP belongs to gateway/.',
      severity: 'error',
      from: { path: '^worker/' },
      to: { path: '^(express|node:http|node:https|http|https)$', dependencyTypes: ['npm', 'core'] },
    },
    {
      name: 'test-data-imports-only-core',
      comment: 'The test-data generators build on the DICOM model only.',
      severity: 'error',
      from: { path: '^test-data/' },
      to: { path: '^(config|storage|audit|worker|gateway|cli|bench|test)/' },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import that resolves to nothing.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|\\.build|var)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
