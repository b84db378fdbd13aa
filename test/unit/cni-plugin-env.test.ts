import { describe, expect, it } from 'vitest';

import { CniError } from '../../src/cni/plugin/cni-error.js';
import { parseCniArgs, parseCommand, parseCommandEnv } from '../../src/cni/plugin/env.js';

function cniError(fn: () => unknown): CniError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CniError);
    return err as CniError;
  }
  throw new Error('expected a CniError');
}

const env = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'abc123',
  CNI_NETNS: '/var/run/netns/cni-1',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
  CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc123',
};

describe('parseCommand', () => {
  it.each(['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'])('knows %s', (command) => {
    expect(parseCommand({ CNI_COMMAND: command })).toBe(command);
  });

  it.each([
    [{}, 'invalid environment variables: CNI_COMMAND is required'],
    [{ CNI_COMMAND: 'add' }, 'invalid environment variables: unknown CNI_COMMAND "add"'],
  ])('rejects %j with code 4', (e, msg) => {
    const err = cniError(() => parseCommand(e));
    expect(err.code).toBe(4);
    expect(err.message).toBe(msg);
  });
});

describe('parseCniArgs', () => {
  it.each([
    ['', {}],
    ['A=1', { A: '1' }],
    ['A=1;B=;C=x=y;', { A: '1', B: '', C: 'x=y' }],
  ])('parses %j', (raw, expected) => {
    expect(Object.fromEntries(parseCniArgs(raw))).toEqual(expected);
  });

  it.each(['A', 'A=1;junk', '=1'])('rejects %j', (raw) => {
    const err = cniError(() => parseCniArgs(raw));
    expect(err.code).toBe(4);
    expect(err.message).toMatch(/^invalid environment variables: CNI_ARGS: ".*" is not KEY=VALUE$/);
  });
});

describe('parseCommandEnv', () => {
  it('reads the attachment and the pod reference, ignoring unknown CNI_ARGS', () => {
    expect(parseCommandEnv('ADD', env)).toEqual({
      containerId: 'abc123',
      ifName: 'eth0',
      netns: '/var/run/netns/cni-1',
      podNamespace: 'default',
      podName: 'web-0',
    });
  });

  it('allows DEL without CNI_NETNS', () => {
    expect(parseCommandEnv('DEL', { ...env, CNI_NETNS: '' })).not.toHaveProperty('netns');
  });

  it.each([
    ['ADD', { CNI_NETNS: undefined }, 'invalid environment variables: CNI_NETNS is required for ADD'],
    ['CHECK', { CNI_NETNS: '' }, 'invalid environment variables: CNI_NETNS is required for CHECK'],
    ['ADD', { CNI_NETNS: 'netns/x' }, 'invalid environment variables: CNI_NETNS: "netns/x" is not an absolute path'],
    ['DEL', { CNI_NETNS: 'netns/x' }, 'invalid environment variables: CNI_NETNS: "netns/x" is not an absolute path'],
    [
      'ADD',
      { CNI_CONTAINERID: undefined, CNI_IFNAME: 'a/b' },
      'invalid environment variables: CNI_CONTAINERID is required for ADD; ' +
        'CNI_IFNAME: "a/b" is not a valid interface name (no \'/\', \':\' or whitespace)',
    ],
    ['DEL', { CNI_ARGS: 'K8S_POD_NAME' }, 'invalid environment variables: CNI_ARGS: "K8S_POD_NAME" is not KEY=VALUE'],
    [
      'ADD',
      { CNI_ARGS: `K8S_POD_NAME=${'p'.repeat(254)}` },
      'invalid environment variables: CNI_ARGS K8S_POD_NAME: is 254 characters; at most 253',
    ],
  ] as const)('%s with %j fails with code 4', (command, overrides, msg) => {
    const err = cniError(() => parseCommandEnv(command, { ...env, ...overrides }));
    expect(err.code).toBe(4);
    expect(err.message).toBe(msg);
  });
});
