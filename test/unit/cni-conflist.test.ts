/** The conflist the daemon writes once it can serve: its text, and the atomic write. */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseNetworkConfig } from '../../src/cni/plugin/config.js';
import { CONFLIST_NAME, installConflist, otherConfigurations, renderConflist, writeFileAtomically } from '../../src/ipamd/cluster/cni-conflist.js';
import { DEFAULT_SOCKET_PATH } from '../../src/rpc/protocol.js';

/**
 * What a CNI runtime does with a conflist (libcni's ConfListFromBytes, then one plugin): the list
 * needs cniVersion, name and a non-empty plugins array whose entries have a type; each plugin is
 * called with the list's cniVersion and name on its own config. Returns that config, decoded by
 * the plugin's own parser.
 */
function asRuntimeWould(text: string) {
  const list = JSON.parse(text) as Record<string, unknown>;
  expect(typeof list['cniVersion']).toBe('string');
  expect(typeof list['name']).toBe('string');
  const plugins = list['plugins'];
  expect(Array.isArray(plugins) && plugins.length > 0).toBe(true);
  const [first] = plugins as Record<string, unknown>[];
  expect(typeof first?.['type']).toBe('string');
  return parseNetworkConfig({ ...first, cniVersion: list['cniVersion'], name: list['name'] });
}

describe('renderConflist', () => {
  it('the default socket is left out: the plugin defaults to it', () => {
    const text = renderConflist({ socketPath: DEFAULT_SOCKET_PATH });
    expect(JSON.parse(text)).toEqual({ cniVersion: '1.0.0', name: 'nativeip', plugins: [{ type: 'nativeip-cni' }] });
    expect(asRuntimeWould(text)).toMatchObject({ cniVersion: '1.0.0', name: 'nativeip', type: 'nativeip-cni', socketPath: DEFAULT_SOCKET_PATH });
  });

  it('a custom socket is kept, and the plugin reads it', () => {
    const text = renderConflist({ socketPath: '/var/run/nativeip-test/ipamd.sock' });
    expect(JSON.parse(text)).toEqual({ cniVersion: '1.0.0', name: 'nativeip', plugins: [{ type: 'nativeip-cni', socketPath: '/var/run/nativeip-test/ipamd.sock' }] });
    expect(asRuntimeWould(text).socketPath).toBe('/var/run/nativeip-test/ipamd.sock');
  });

  it('is strict JSON ending in a newline', () => {
    const text = renderConflist({ socketPath: DEFAULT_SOCKET_PATH });
    expect(text.endsWith('}\n')).toBe(true);
    expect(() => JSON.parse(text)).not.toThrow();
  });

  it('the file name is one libcni reads (*.conflist), sorting early', () => {
    expect(CONFLIST_NAME).toMatch(/^\d\d-[a-z-]+\.conflist$/);
  });
});

describe('writeFileAtomically', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nativeip-conflist-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the file and returns its path, leaving no temp file', async () => {
    const path = await writeFileAtomically(dir, CONFLIST_NAME, 'one\n');
    expect(path).toBe(join(dir, CONFLIST_NAME));
    expect(await readFile(path, 'utf8')).toBe('one\n');
    expect(await readdir(dir)).toEqual([CONFLIST_NAME]);
  });

  it('replaces a file already there, leaving no temp file', async () => {
    await writeFile(join(dir, CONFLIST_NAME), 'an older, longer configuration\n');
    await writeFileAtomically(dir, CONFLIST_NAME, 'new\n');
    expect(await readFile(join(dir, CONFLIST_NAME), 'utf8')).toBe('new\n');
    expect(await readdir(dir)).toEqual([CONFLIST_NAME]);
  });

  it('leaves other files in the directory alone', async () => {
    await writeFile(join(dir, '05-other.conflist'), 'theirs');
    await writeFileAtomically(dir, CONFLIST_NAME, 'ours');
    expect((await readdir(dir)).sort()).toEqual(['05-other.conflist', CONFLIST_NAME].sort());
    expect(await readFile(join(dir, '05-other.conflist'), 'utf8')).toBe('theirs');
  });

  it('a missing directory: an error naming the path, and nothing left behind', async () => {
    const missing = join(dir, 'net.d');
    const failure = writeFileAtomically(missing, CONFLIST_NAME, 'x');
    await expect(failure).rejects.toThrow(join(missing, CONFLIST_NAME));
    await expect(failure).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a target that is a directory: an error naming the path, the temp file removed', async () => {
    await writeFile(join(dir, 'keep'), 'k');
    await mkdir(join(dir, CONFLIST_NAME));
    await expect(writeFileAtomically(dir, CONFLIST_NAME, 'x')).rejects.toThrow(join(dir, CONFLIST_NAME));
    expect((await readdir(dir)).sort()).toEqual([CONFLIST_NAME, 'keep']);
  });
});

describe('which configuration the runtime uses', () => {
  it('nativeip’s sorts before the AWS VPC CNI’s and the other 10- files, so a leftover never wins', () => {
    expect([CONFLIST_NAME, '10-aws.conflist', '10-calico.conflist', '10-flannel.conflist'].sort()[0]).toBe(CONFLIST_NAME);
    expect(otherConfigurations(['10-aws.conflist', CONFLIST_NAME, '.hidden.conflist', 'README', '10-nativeip.conflist'])).toEqual({ before: [], after: ['10-aws.conflist'] });
    expect(otherConfigurations(['00-multus.conf', CONFLIST_NAME, '99-loopback.conf'])).toEqual({ before: ['00-multus.conf'], after: ['99-loopback.conf'] });
  });

  describe('installConflist', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'nativeip-install-conflist-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('writes nativeip’s, removes the name an earlier version wrote, and lists the other networks', async () => {
      await writeFile(join(dir, '10-aws.conflist'), '{}');
      await writeFile(join(dir, '10-nativeip.conflist'), '{}');
      const installed = await installConflist(dir, renderConflist({ socketPath: DEFAULT_SOCKET_PATH }));
      expect(installed).toEqual({ path: join(dir, CONFLIST_NAME), removed: ['10-nativeip.conflist'], before: [], after: ['10-aws.conflist'] });
      expect((await readdir(dir)).sort()).toEqual([CONFLIST_NAME, '10-aws.conflist']);
    });
  });
});
