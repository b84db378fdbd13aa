/** The repository's root, found from this file wherever it runs from (the sources, or a bundle under .tmp/run). */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function findRepoRoot(from: string = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'scripts', 'setup.sh'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no nativeip repository above ${from}`);
  }
}

export const REPO_ROOT = findRepoRoot();
