import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(file);
    return file.endsWith('.ts') && !/\.(spec|int-spec|e2e-spec)\.ts$/.test(file) ? [file] : [];
  });
}

/** Every environment variable the service's production code reads (`env.NAME`), found in its sources. */
export function environmentTheAppReads(): Set<string> {
  const names = new Set<string>();
  for (const file of ['apps', 'libs'].flatMap((dir) => sourceFiles(path.join(REPO_ROOT, dir)))) {
    if (file.includes(`${path.sep}testkit${path.sep}`) || file.includes(`${path.sep}testing${path.sep}`))
      continue;
    for (const match of readFileSync(file, 'utf8').matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)) names.add(match[1]);
  }
  return names;
}

export function readRepoFile(relative: string): string {
  return readFileSync(path.join(REPO_ROOT, relative), 'utf8');
}
