import { describe, expect, it } from 'vitest';

import { runCommand, type CallDaemon, type PluginDeps } from '../../src/cni/plugin/run-command.js';
import { RpcCallError, rpcErrorBody } from '../../src/rpc/errors.js';
import type { AddResult, RpcMethod } from '../../src/rpc/protocol.js';

const addResult: AddResult = {
  address: '10.0.1.5/32',
  gateway: '169.254.1.1',
  mtu: 9001,
  interfaceId: 'eni-1',
  hostInterface: { name: 'nip3f2a', mac: '02:00:00:00:00:01' },
  podInterface: { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/cni-1' },
};

const env = {
  CNI_CONTAINERID: 'abc123',
  CNI_NETNS: '/var/run/netns/cni-1',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
  CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0',
};

const config = { cniVersion: '1.0.0', name: 'nativeip', type: 'nativeip-cni', socketPath: '/run/test.sock', timeoutMs: 1234 };

interface Call {
  readonly socketPath: string;
  readonly method: RpcMethod;
  readonly params: unknown;
  readonly timeoutMs: number;
}

type Reply = { result: unknown } | { error: RpcCallError };

function fakeDeps(replies: Partial<Record<RpcMethod, Reply>>): { deps: PluginDeps; calls: Call[]; logs: string[] } {
  const calls: Call[] = [];
  const logs: string[] = [];
  const callDaemon = ((socketPath: string, method: RpcMethod, params: unknown, options: { timeoutMs: number }) => {
    calls.push({ socketPath, method, params, timeoutMs: options.timeoutMs });
    const reply = replies[method];
    if (reply === undefined) return Promise.reject(new Error(`unexpected call ${method}`));
    return 'error' in reply ? Promise.reject(reply.error) : Promise.resolve(reply.result);
  }) as CallDaemon;
  return {
    deps: { callDaemon, appendLog: (_file, line) => logs.push(line), now: () => 1_700_000_000_000 },
    calls,
    logs,
  };
}

function stdin(value: unknown): Uint8Array {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
}

const unreachable = new RpcCallError('unreachable', 'nativeip-ipamd is not reachable at /run/test.sock: the socket does not exist (ENOENT)', {
  socketPath: '/run/test.sock',
  errno: 'ENOENT',
});

describe('runCommand', () => {
  it('VERSION prints the supported versions without reading the config', async () => {
    const { deps } = fakeDeps({});
    const out = await runCommand({ env: { CNI_COMMAND: 'VERSION' }, stdin: new Uint8Array() }, deps);
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  it('ADD sends the allocation key, pod reference and mtu, and prints the result', async () => {
    const { deps, calls } = fakeDeps({ add: { result: addResult } });
    const out = await runCommand({ env: { ...env, CNI_COMMAND: 'ADD' }, stdin: stdin({ ...config, mtu: 1500 }) }, deps);
    expect(out.exitCode).toBe(0);
    expect(calls).toEqual([
      {
        socketPath: '/run/test.sock',
        method: 'add',
        timeoutMs: 1234,
        params: {
          networkName: 'nativeip',
          containerId: 'abc123',
          ifName: 'eth0',
          netns: '/var/run/netns/cni-1',
          podNamespace: 'default',
          podName: 'web-0',
          mtu: 1500,
        },
      },
    ]);
    expect(JSON.parse(out.stdout)).toMatchObject({ cniVersion: '1.0.0', ips: [{ address: '10.0.1.5/32', interface: 1 }] });
  });

  it('ADD prints the result in the config version', async () => {
    const { deps } = fakeDeps({ add: { result: addResult } });
    const out = await runCommand({ env: { ...env, CNI_COMMAND: 'ADD' }, stdin: stdin({ ...config, cniVersion: '0.3.1' }) }, deps);
    expect(JSON.parse(out.stdout)).toMatchObject({ cniVersion: '0.3.1', ips: [{ version: '4' }] });
  });

  it.each([
    [
      'the daemon unreachable',
      { error: unreachable },
      {
        code: 11,
        msg: 'try again later: nativeip-ipamd is not reachable at /run/test.sock: the socket does not exist (ENOENT)',
      },
    ],
    [
      'a timeout',
      { error: new RpcCallError('timeout', 'nativeip-ipamd at /run/test.sock did not answer add within 1234 ms', { socketPath: '/s' }) },
      { code: 11, msg: 'try again later: nativeip-ipamd at /run/test.sock did not answer add within 1234 ms' },
    ],
    [
      'a daemon error',
      {
        error: new RpcCallError('remote', 'x', {
          socketPath: '/s',
          body: rpcErrorBody('PoolExhausted', 'subnet subnet-1 has 0 free addresses and eni limit 3 reached'),
        }),
      },
      {
        code: 100,
        msg: 'subnet subnet-1 has 0 free addresses and eni limit 3 reached',
        details: 'nativeip-ipamd error PoolExhausted',
      },
    ],
    [
      'a retryable daemon error',
      { error: new RpcCallError('remote', 'x', { socketPath: '/s', body: rpcErrorBody('PoolEmptyGrowing', 'growing') }) },
      { code: 11, msg: 'growing', details: 'nativeip-ipamd error PoolEmptyGrowing (retryable)' },
    ],
    [
      'a bad reply',
      { error: new RpcCallError('protocol', 'bad reply', { socketPath: '/s', body: rpcErrorBody('BadFrame', 'bad reply') }) },
      { code: 6, msg: 'bad reply' },
    ],
    ['a plugin bug', { error: new Error('oops') as RpcCallError }, { code: 103, msg: 'internal error in nativeip-cni: oops' }],
  ])('ADD reports %s as a CNI error', async (_name, reply, error) => {
    const { deps } = fakeDeps({ add: reply });
    const out = await runCommand({ env: { ...env, CNI_COMMAND: 'ADD' }, stdin: stdin(config) }, deps);
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: '1.0.0', ...error });
  });

  it('DEL prints nothing; an unreachable daemon is not an error, and is logged', async () => {
    const { deps, calls, logs } = fakeDeps({ del: { error: unreachable } });
    const out = await runCommand(
      { env: { ...env, CNI_COMMAND: 'DEL', CNI_NETNS: '' }, stdin: stdin({ ...config, logFile: '/var/log/x.log' }) },
      deps,
    );
    expect(out).toEqual({ stdout: '', exitCode: 0 });
    expect(calls[0]?.params).toEqual({
      networkName: 'nativeip',
      containerId: 'abc123',
      ifName: 'eth0',
      podNamespace: 'default',
      podName: 'web-0',
    });
    expect(logs).toHaveLength(1);
    expect(JSON.parse(logs[0] ?? '')).toMatchObject({
      level: 'warn',
      command: 'DEL',
      containerId: 'abc123',
      reason: unreachable.message,
      time: '2023-11-14T22:13:20.000Z',
    });
  });

  it('DEL passes a daemon error through', async () => {
    const body = rpcErrorBody('DatapathFailed', 'cannot delete route 10.0.1.5/32: EPERM');
    const { deps } = fakeDeps({ del: { error: new RpcCallError('remote', body.message, { socketPath: '/s', body }) } });
    const out = await runCommand({ env: { ...env, CNI_COMMAND: 'DEL' }, stdin: stdin(config) }, deps);
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 101, msg: body.message });
  });

  const prevResult = {
    cniVersion: '1.0.0',
    interfaces: [
      { name: 'nip3f2a', mac: '02:00:00:00:00:01' },
      { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/cni-1' },
    ],
    ips: [{ address: '10.0.1.5/32', gateway: '169.254.1.1', interface: 1 }],
    routes: [{ dst: '0.0.0.0/0' }],
    dns: {},
  };

  it('CHECK succeeds silently or lists the problems with code 101', async () => {
    const ok = fakeDeps({ check: { result: { ok: true, problems: [] } } });
    expect(await runCommand({ env: { ...env, CNI_COMMAND: 'CHECK' }, stdin: stdin({ ...config, prevResult }) }, ok.deps)).toEqual({
      stdout: '',
      exitCode: 0,
    });
    expect(ok.calls[0]?.params).toMatchObject({ containerId: 'abc123', prevAddresses: ['10.0.1.5/32'] });
    const bad = fakeDeps({ check: { result: { ok: false, problems: ['route 10.0.1.5/32 missing', 'rule missing'] } } });
    const out = await runCommand({ env: { ...env, CNI_COMMAND: 'CHECK' }, stdin: stdin({ ...config, prevResult }) }, bad.deps);
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({
      cniVersion: '1.0.0',
      code: 101,
      msg: 'check failed: route 10.0.1.5/32 missing; rule missing',
    });
  });

  it('CHECK needs prevResult (code 7) and fails when it lacks our interface', async () => {
    const none = fakeDeps({});
    const missing = await runCommand({ env: { ...env, CNI_COMMAND: 'CHECK' }, stdin: stdin(config) }, none.deps);
    expect(JSON.parse(missing.stdout)).toMatchObject({ code: 7, msg: 'invalid network config: prevResult is required for CHECK (the result of the ADD being checked)' });
    expect(none.calls).toEqual([]);
    const other = { ...prevResult, interfaces: [{ name: 'eth1', sandbox: '/var/run/netns/cni-1' }], ips: [] };
    const { deps, calls } = fakeDeps({ check: { result: { ok: true, problems: [] } } });
    const out = await runCommand({ env: { ...env, CNI_COMMAND: 'CHECK' }, stdin: stdin({ ...config, prevResult: other }) }, deps);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 101, msg: 'check failed: prevResult has no interface eth0 in /var/run/netns/cni-1' });
    expect(calls[0]?.params).not.toHaveProperty('prevAddresses');
  });

  it.each([
    ['CHECK', 1, { ...config, cniVersion: '0.3.1' }, env, 'CNI_COMMAND CHECK needs cniVersion 0.4.0 or later; the network config says 0.3.1', '0.3.1'],
    ['ADD', 4, { ...config, cniVersion: '0.4.0' }, { ...env, CNI_NETNS: '' }, 'invalid environment variables: CNI_NETNS is required for ADD', '0.4.0'],
    ['ADD', 1, { ...config, cniVersion: '0.2.0' }, env, 'incompatible CNI version "0.2.0": nativeip-cni supports 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0', '1.1.0'],
    ['ADD', 7, { cniVersion: '0.4.0', type: 'x' }, env, 'invalid network config: name is required', '0.4.0'],
    ['STATUS', 1, config, env, 'CNI_COMMAND STATUS needs cniVersion 1.1.0 or later; the network config says 1.0.0', '1.0.0'],
    ['ADD', 6, '{"cniVersion":"0.4.0",', env, 'failed to decode content: invalid JSON at line 1, column 23 (offset 22): expected a double-quoted property name, found the end of the input', '1.1.0'],
  ])('%s fails with code %d for config %j', async (command, code, cfg, e, msg, version) => {
    const { deps, calls } = fakeDeps({});
    const out = await runCommand({ env: { ...e, CNI_COMMAND: command }, stdin: stdin(cfg) }, deps);
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ cniVersion: version, code, msg });
    expect(calls).toEqual([]);
  });

  it('reports an unknown CNI_COMMAND with code 4', async () => {
    const { deps } = fakeDeps({});
    const out = await runCommand({ env: { CNI_COMMAND: 'FROB' }, stdin: stdin(config) }, deps);
    expect(JSON.parse(out.stdout)).toEqual({
      cniVersion: '1.1.0',
      code: 4,
      msg: 'invalid environment variables: unknown CNI_COMMAND "FROB"',
    });
  });

  it('never fails a command because the log cannot be written', async () => {
    const { deps } = fakeDeps({ add: { result: addResult } });
    const out = await runCommand(
      { env: { ...env, CNI_COMMAND: 'ADD' }, stdin: stdin({ ...config, logFile: '/nope/x.log' }) },
      {
        ...deps,
        appendLog: () => {
          throw new Error('ENOENT');
        },
      },
    );
    expect(out.exitCode).toBe(0);
  });
});
