/**
 * Dependency rules (run in `npm run lint`): bounded contexts and libs meet only through each lib's public
 * src/index.ts; libs never reach into apps; the shared kernel (libs/fhir) and platform depend on no context.
 */
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
      to: { path: '^libs/(event-store|ingestion|fhir-store|patient-identity|clinical|revenue-cycle)/' },
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
    exclude: { path: '(^|/)(node_modules|dist)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
