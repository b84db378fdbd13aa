/**
 * The built `dist/`, rebuilt first when any file under src/ is newer than its CLI bundle, for the
 * tests that run the commands as an operator does.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from './kube/process.js';
import { REPO_ROOT } from './repo-root.js';

/** The newest modification time of the files under `path`. */
function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/** Builds dist/ when src/ changed since; returns the path of `dist/bin/nativeip`. */
export async function builtCli(): Promise<string> {
  const builtAt = statSync(join(REPO_ROOT, 'dist/js/nativeip.mjs'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (builtAt < newestMtime(join(REPO_ROOT, 'src'))) await runCommand('npm', ['run', '--silent', 'build'], { timeoutMs: 300_000 });
  return join(REPO_ROOT, 'dist/bin/nativeip');
}
