// After `tsc -p tsconfig.build.json` (`npm run build`), completes dist/ so it runs on its own:
// 1. The compiled apps find the libs by their `@fa/*` names: for each path alias in tsconfig.json it writes dist/node_modules/@fa/<name>/package.json whose `main` is the
// lib's compiled index.js, so Node's own resolution (walking up to dist/node_modules) finds them: no path
// rewriting of the emitted files and no run-time resolver.
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const { compilerOptions } = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8'));
// Test and benchmark infrastructure is not part of the build (tsconfig.build.json leaves it out).
const TEST_ONLY = new Set(['@fa/testkit']);
for (const [alias, [target]] of Object.entries(compilerOptions.paths)) {
  if (TEST_ONLY.has(alias)) continue;
  const compiled = path.join(dist, target.replace(/\.ts$/, '.js'));
  if (!fs.existsSync(compiled)) throw new Error(`${alias}: ${path.relative(root, compiled)} was not built`);
  const dir = path.join(dist, 'node_modules', alias);
  fs.mkdirSync(dir, { recursive: true });
  const main = path.relative(dir, compiled).split(path.sep).join('/');
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: alias, private: true, main }, null, 2) + '\n',
  );
}

// 2. `--sample` (npm run demo) reads the sample data relative to the compiled main, as it does from source.
for (const sample of ['synthea-2-patients', 'sample-update']) {
  fs.cpSync(path.join(root, 'test', 'fixtures', sample), path.join(dist, 'test', 'fixtures', sample), {
    recursive: true,
  });
}
