import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, copyFile, mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_BIN_DIR,
  DEFAULT_SHIM_PATH,
  describeFsError,
  installAction,
  installCni,
  InstallCniError,
  InstallCniUsageError,
  nodeInstallIo,
  parseInstallCniArgs,
  renderInstallOutcome,
  type InstallIo,
} from '../../src/cli/install-cni.js';

describe('nativeip install-cni arguments', () => {
  it.each([
    [[], { from: DEFAULT_SHIM_PATH, binDir: DEFAULT_BIN_DIR }],
    [['--bin-dir', '/host-cni'], { from: DEFAULT_SHIM_PATH, binDir: '/host-cni' }],
    [['--from', '/x/shim', '--bin-dir', '/b'], { from: '/x/shim', binDir: '/b' }],
  ])('%j', (argv, expected) => {
    expect(parseInstallCniArgs(argv)).toEqual(expected);
  });

  it.each([
    [['--bin-dir'], '--bin-dir needs a value'],
    [['--from', '--bin-dir', '/b'], '--from needs a value'],
    [['--bogus'], 'unknown argument --bogus'],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseInstallCniArgs(argv)).toThrow(InstallCniUsageError);
    expect(() => parseInstallCniArgs(argv)).toThrow(message);
  });
});

describe('installAction', () => {
  const a = new Uint8Array([1, 2, 3]);
  it.each([
    ['nothing installed', undefined, 'write'],
    ['same bytes', new Uint8Array([1, 2, 3]), 'skip'],
    ['other bytes', new Uint8Array([1, 2, 4]), 'write'],
    ['a prefix', new Uint8Array([1, 2]), 'write'],
  ] as const)('%s: %s', (_name, installed, expected) => {
    expect(installAction(a, installed)).toBe(expected);
  });
});

describe('describeFsError', () => {
  const err = (code: string) => Object.assign(new Error(code), { code });
  it.each([
    ['ENOENT', 'cannot use the CNI bin directory /h: it does not exist (ENOENT)'],
    ['EACCES', 'cannot use the CNI bin directory /h: permission denied (EACCES)'],
    ['EROFS', 'cannot use the CNI bin directory /h: read-only file system (EROFS)'],
    ['ENOSPC', 'cannot use the CNI bin directory /h: no space left on the device (ENOSPC)'],
    ['EIO', 'cannot use the CNI bin directory /h: EIO (EIO)'],
  ])('%s', (code, message) => {
    expect(describeFsError(err(code), 'use the CNI bin directory', '/h')).toBe(message);
  });
});

describe('installCni on a real directory', () => {
  let dir: string;
  let binDir: string;
  let shim: string;
  const newShim = Buffer.from('#!/bin/sh\necho new\n');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nativeip-install-cni-'));
    binDir = join(dir, 'host-cni-bin');
    await mkdir(binDir);
    shim = join(dir, 'nativeip-cni');
    await writeFile(shim, newShim, { mode: 0o644 });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const listBinDir = () => readdir(binDir);

  it('installs into an empty directory, mode 0755, and says so', async () => {
    const outcome = await installCni({ from: shim, binDir });
    expect(outcome).toEqual({ kind: 'installed', path: join(binDir, 'nativeip-cni'), from: shim, bytes: newShim.length, replaced: false });
    expect(await readFile(join(binDir, 'nativeip-cni'))).toEqual(newShim);
    expect((await stat(join(binDir, 'nativeip-cni'))).mode & 0o777).toBe(0o755);
    expect(await listBinDir()).toEqual(['nativeip-cni']);
    expect(renderInstallOutcome(outcome)).toBe(`install-cni: installed ${binDir}/nativeip-cni (${newShim.length} bytes, from ${shim})`);
  });

  it('leaves a byte-identical installed file as it is (same inode, same time) and says so', async () => {
    await installCni({ from: shim, binDir });
    const before = await stat(join(binDir, 'nativeip-cni'));
    const outcome = await installCni({ from: shim, binDir });
    expect(outcome.kind).toBe('unchanged');
    const after = await stat(join(binDir, 'nativeip-cni'));
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(renderInstallOutcome(outcome)).toBe(`install-cni: ${binDir}/nativeip-cni already has the bytes of ${shim}; left as it is`);
  });

  it('replaces a different file by rename: a reader that has the old one open keeps reading the old bytes', async () => {
    const oldShim = Buffer.from('#!/bin/sh\necho old version, longer than the new one\n');
    const installed = join(binDir, 'nativeip-cni');
    await writeFile(installed, oldShim, { mode: 0o755 });
    const reader = await open(installed, 'r');
    try {
      const outcome = await installCni({ from: shim, binDir });
      expect(outcome).toMatchObject({ kind: 'installed', replaced: true });
      expect(renderInstallOutcome(outcome)).toMatch(/^install-cni: replaced /);
      const { buffer } = await reader.read({ buffer: Buffer.alloc(oldShim.length), position: 0 });
      expect(buffer).toEqual(oldShim);
      expect(await readFile(installed)).toEqual(newShim);
      expect((await reader.stat()).ino).not.toBe((await stat(installed)).ino);
    } finally {
      await reader.close();
    }
    expect(await listBinDir()).toEqual(['nativeip-cni']);
  });

  it('replaces the plugin while the old one is running (writing in place would fail with ETXTBSY)', async () => {
    const installed = join(binDir, 'nativeip-cni');
    await copyFile('/bin/sleep', installed);
    await chmod(installed, 0o755);
    const running = spawn(installed, ['30'], { stdio: 'ignore' });
    await once(running, 'spawn');
    try {
      await expect(writeFile(installed, newShim)).rejects.toMatchObject({ code: 'ETXTBSY' });
      expect(await installCni({ from: shim, binDir })).toMatchObject({ kind: 'installed', replaced: true });
      expect(await readFile(installed)).toEqual(newShim);
    } finally {
      running.kill('SIGKILL');
      await once(running, 'exit');
    }
  });

  it('names the directory when it is missing', async () => {
    const missing = join(dir, 'no-such-dir');
    const failure = installCni({ from: shim, binDir: missing });
    await expect(failure).rejects.toBeInstanceOf(InstallCniError);
    await expect(failure).rejects.toMatchObject({ path: missing });
    await expect(failure).rejects.toThrow(`cannot use the CNI bin directory ${missing}: it does not exist (ENOENT) (mount the host's CNI bin directory there, or pass --bin-dir)`);
  });

  it('names the directory when it is a file', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, '');
    await expect(installCni({ from: shim, binDir: file })).rejects.toThrow(`cannot use the CNI bin directory ${file}: it is not a directory`);
    await expect(installCni({ from: shim, binDir: join(file, 'bin') })).rejects.toThrow(
      `cannot use the CNI bin directory ${file}/bin: a part of the path is not a directory (ENOTDIR)`,
    );
  });

  it('names the plugin when it cannot be read, and writes nothing', async () => {
    const missing = join(dir, 'no-shim');
    await expect(installCni({ from: missing, binDir })).rejects.toThrow(`cannot read the plugin to install, ${missing}: it does not exist (ENOENT)`);
    expect(await listBinDir()).toEqual([]);
  });

  it('leaves no temp file when the rename fails (a directory where the plugin goes)', async () => {
    await mkdir(join(binDir, 'nativeip-cni'));
    await writeFile(join(binDir, 'nativeip-cni', 'keep'), '');
    const failure = installCni({ from: shim, binDir });
    await expect(failure).rejects.toBeInstanceOf(InstallCniError);
    await expect(failure).rejects.toThrow(`cannot replace ${binDir}/nativeip-cni with`);
    expect(await listBinDir()).toEqual(['nativeip-cni']);
  });

  it.each(['EROFS', 'EACCES', 'ENOSPC'])('names the directory and leaves no temp file when the write fails with %s', async (code) => {
    // The temp file is created, then the write fails part-way: what a full or read-only disk does.
    const io: InstallIo = {
      ...nodeInstallIo,
      async writeNew(path, data, mode) {
        await nodeInstallIo.writeNew(path, data.subarray(0, 3), mode);
        throw Object.assign(new Error(code), { code });
      },
    };
    const failure = installCni({ from: shim, binDir }, io);
    await expect(failure).rejects.toMatchObject({ path: binDir });
    await expect(failure).rejects.toThrow(`cannot write the plugin into ${binDir}: `);
    expect(await listBinDir()).toEqual([]);
  });

  it('keeps the old plugin and leaves no temp file when the fsync fails before the rename', async () => {
    const installed = join(binDir, 'nativeip-cni');
    await writeFile(installed, 'old', { mode: 0o755 });
    const io: InstallIo = {
      ...nodeInstallIo,
      async writeNew(path, data, mode) {
        await nodeInstallIo.writeNew(path, data, mode);
        throw Object.assign(new Error('EIO'), { code: 'EIO' });
      },
    };
    await expect(installCni({ from: shim, binDir }, io)).rejects.toThrow(`cannot write the plugin into ${binDir}: EIO (EIO)`);
    expect(await readFile(installed, 'utf8')).toBe('old');
    expect(await listBinDir()).toEqual(['nativeip-cni']);
  });
});
