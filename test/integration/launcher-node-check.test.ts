/**
 * The built launchers (`dist/bin/nativeip`, `nativeip-ipamd`) run the `node` on PATH: one older than
 * Node.js 24 is refused in one line naming what was found (a dependency would otherwise fail with
 * a stack trace at import), and a missing one likewise.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli } from '../support/built-cli.js';

const execFileAsync = promisify(execFile);
let cli = '';
let fakeBin = '';

async function run(launcher: string, pathDirs: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(launcher, ['max-pods', '--instance-type=m5.large'], { env: { PATH: [...pathDirs, '/usr/bin', '/bin'].join(':') } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stderr: string; stdout: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  cli = await builtCli();
  fakeBin = await mkdtemp(join(tmpdir(), 'nativeip-old-node-'));
  await writeFile(join(fakeBin, 'node'), '#!/bin/sh\necho v20.20.2\n');
  await chmod(join(fakeBin, 'node'), 0o755);
}, 300_000);

afterAll(async () => {
  if (fakeBin !== '') await rm(fakeBin, { recursive: true, force: true });
});

describe('launchers', () => {
  it.each(['nativeip', 'nativeip-ipamd'])('%s refuses a Node.js older than 24 on PATH in one line, exit 2', async (name) => {
    const result = await run(join(dirname(cli), name), [fakeBin]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`${name}: needs Node.js 24 or later on PATH (found: v20.20.2); the project installs it with scripts/install-node.sh, which prints the directory to put first on PATH`);
  });

  it('runs with the Node.js the project installs first on PATH', async () => {
    const result = await run(cli, [dirname(process.execPath)]);
    expect(result).toMatchObject({ code: 0, stdout: '29\n' });
  });
});
