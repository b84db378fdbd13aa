/**
 * Which build a benchmark ran, for its section: a private copy of dist/ may carry a `REVISION`
 * file (one line, e.g. `commit 64fc60d (git archive of HEAD, …)`); without one, the working
 * tree's dist/ is named with the HEAD it sits on (it may have been built from another state).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from './report.js';

export function buildRevision(binDir: string): string {
  try {
    return readFileSync(join(binDir, '..', 'REVISION'), 'utf8').trim();
  } catch {
    // No stamp: say what is known.
  }
  let head = 'unknown';
  try {
    head = execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD']).toString().trim();
  } catch {
    // Not a git checkout.
  }
  return resolve(binDir) === join(REPO_ROOT, 'dist', 'bin') ? `the working tree's dist/ (HEAD ${head})` : `${binDir} (no REVISION file; the working tree's HEAD is ${head})`;
}
