import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeLeftovers } from '../../src/demo/leftovers.js';

const execFileAsync = promisify(execFile);
const NS = 'cln-leftovers';
const NS_PATH = `/run/netns/${NS}`;
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('skipping demo leftovers test: needs root (creates a network namespace)');

describe.skipIf(!isRoot)('nodeLeftovers', () => {
  const ip = (...args: string[]) => execFileAsync('ip', ['-n', NS, ...args]);

  beforeAll(async () => {
    await execFileAsync('ip', ['netns', 'add', NS]);
    await ip('link', 'add', 'eniabc', 'type', 'veth', 'peer', 'name', 'other0');
    await ip('link', 'set', 'eniabc', 'up');
    await ip('route', 'add', '10.9.0.7/32', 'dev', 'eniabc', 'scope', 'link');
    await ip('rule', 'add', 'from', '10.9.0.8', 'lookup', '101', 'priority', '1536');
  });

  afterAll(async () => {
    await execFileAsync('ip', ['netns', 'del', NS]).catch(() => undefined);
  });

  it('names the pod veths, and the routes and rules for the given addresses', async () => {
    const found = await nodeLeftovers(NS_PATH, { addresses: ['10.9.0.7', '10.9.0.8'], isPodVeth: (name) => name.startsWith('eni') });
    expect(found[0]).toBe('veth eniabc');
    expect(found.filter((l) => l.startsWith('route ') && l.includes('10.9.0.7'))).toHaveLength(1);
    expect(found.filter((l) => l.startsWith('rule ') && l.includes('10.9.0.8'))).toHaveLength(1);
    expect(found).toHaveLength(3);
  });

  it('is empty when nothing matches', async () => {
    expect(await nodeLeftovers(NS_PATH, { addresses: ['10.9.0.70', '10.9.0.1'], isPodVeth: (name) => name === 'enixyz' })).toEqual([]);
  });
});
