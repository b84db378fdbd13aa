/**
 * The project's container image as tests use it: scripts/build-image.sh's OCI archive, rebuilt
 * when it is missing or older than the build it packs.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_ROOT } from './repo-root.js';

export { REPO_ROOT } from './repo-root.js';
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** What scripts/build-image.sh writes on this machine (amd64). */
export const IMAGE_ARCHIVE = join(REPO_ROOT, 'dist/image', `nativeip-${VERSION}-amd64.oci.tar`);
export const IMAGE_TAG = `localhost/nativeip:${VERSION}`;

/** True when the archive is missing or older than one of the files it packs. */
export function imageIsStale(): boolean {
  if (!existsSync(IMAGE_ARCHIVE)) return true;
  const built = statSync(IMAGE_ARCHIVE).mtimeMs;
  // A missing dist/ file counts as newer: build-image.sh then says to run npm run build.
  return ['dist/js/nativeip-ipamd.mjs', 'dist/js/nativeip.mjs', 'dist/bin/nativeip-cni'].some((path) => (statSync(join(REPO_ROOT, path), { throwIfNoEntry: false })?.mtimeMs ?? Infinity) > built);
}

/** The archive's path, built first when stale. Throws with build-image.sh's stderr when it fails. */
export async function ensureImageArchive(): Promise<string> {
  if (!imageIsStale()) return IMAGE_ARCHIVE;
  await new Promise<void>((resolve, reject) => {
    execFile('bash', [join(REPO_ROOT, 'scripts/build-image.sh')], { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error !== null) reject(new Error(`scripts/build-image.sh failed: ${stderr || error.message}`));
      else resolve();
    });
  });
  return IMAGE_ARCHIVE;
}
