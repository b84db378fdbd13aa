/**
 * The built `nativeip install-cni --rp-filter-loose` in a real network namespace with a default
 * route over a strict interface: the kernel's rp_filter for that interface becomes 2 (root only).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli } from '../support/built-cli.js';

const run = promisify(execFile);
const NS = 'nip-rpf';
const root = process.getuid?.() === 0;
if (!root) console.warn('skipping rp_filter netns test: needs root (network namespaces)');

describe.skipIf(!root)('install-cni --rp-filter-loose in a network namespace', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nativeip-rpf-'));
    await run('ip', ['netns', 'del', NS]).catch(() => undefined);
    await run('ip', ['netns', 'add', NS]);
    for (const args of [
      ['link', 'add', 'prim0', 'type', 'veth', 'peer', 'name', 'prim1'],
      ['link', 'set', 'prim1', 'up'],
      ['link', 'set', 'prim0', 'up'],
      ['addr', 'add', '10.9.0.5/24', 'dev', 'prim0'],
      ['route', 'add', 'default', 'via', '10.9.0.1', 'dev', 'prim0'],
    ]) await run('ip', ['-n', NS, ...args]);
    await run('ip', ['netns', 'exec', NS, 'sysctl', '-w', 'net.ipv4.conf.prim0.rp_filter=1']);
  });
  afterAll(async () => {
    await run('ip', ['netns', 'del', NS]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('sets the default route interface’s rp_filter from 1 to 2, and installs the plugin', async () => {
    const cli = await builtCli();
    const plugin = join(dir, 'plugin');
    await writeFile(plugin, 'plugin bytes');
    const { stdout } = await run('ip', ['netns', 'exec', NS, cli, 'install-cni', '--from', plugin, '--bin-dir', dir, '--rp-filter-loose']);
    expect(stdout).toMatch(/rp_filter on prim0 \(the default route's interface\) set from 1 \(strict\) to 2 \(loose\)/);
    const { stdout: value } = await run('ip', ['netns', 'exec', NS, 'cat', '/proc/sys/net/ipv4/conf/prim0/rp_filter']);
    expect(value.trim()).toBe('2');
  });
});
