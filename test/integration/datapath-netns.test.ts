import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsError, withNetns } from '../../src/ipamd/datapath/netns.js';
import { closeSocket, listLinks, openSocket } from '../../src/ipamd/datapath/rtnl.js';
import { addNetns, delNetns, ip } from './datapath-fabric.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('netns tests skipped: they need root');

const NS = 'dpt-netns-a';
const currentNetns = () => statSync('/proc/thread-self/ns/net').ino;

describe.skipIf(!isRoot)('withNetns (root)', () => {
  let path: string;
  beforeAll(() => {
    delNetns(NS);
    path = addNetns(NS);
    ip('-n', NS, 'link', 'add', 'marker0', 'type', 'veth', 'peer', 'name', 'marker1');
  });
  afterAll(() => delNetns(NS));

  it('runs fn inside the namespace and switches back', () => {
    const before = currentNetns();
    const inside = withNetns(path, currentNetns);
    expect(inside).toBe(statSync(path).ino);
    expect(inside).not.toBe(before);
    expect(currentNetns()).toBe(before);
  });

  it('switches back when fn throws', () => {
    const before = currentNetns();
    expect(() =>
      withNetns(path, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(currentNetns()).toBe(before);
  });

  it('binds a netlink socket created inside to that namespace', async () => {
    const sock = withNetns(path, openSocket);
    try {
      const names = (await listLinks(sock)).map((l) => l.name).sort();
      expect(names).toEqual(['lo', 'marker0', 'marker1']);
    } finally {
      closeSocket(sock);
    }
  });

  it('names the path when it does not exist', () => {
    const before = currentNetns();
    let err: unknown;
    try {
      withNetns('/run/netns/dpt-none', () => 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetnsError);
    expect(err).toMatchObject({ code: 'ENOENT', path: '/run/netns/dpt-none', message: 'netns /run/netns/dpt-none: does not exist' });
    expect(currentNetns()).toBe(before);
  });

  it('refuses a file that is not a network namespace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpt-'));
    const file = join(dir, 'not-a-netns');
    writeFileSync(file, '');
    try {
      expect(() => withNetns(file, () => 1)).toThrow(`netns ${file}: is not a network namespace`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
