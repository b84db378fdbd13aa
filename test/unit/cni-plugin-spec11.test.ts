/** CNI 1.1 in the plugin: STATUS, GC, cniVersions, and prevResult in a chain. */
import { describe, expect, it } from 'vitest';

import { selectCniVersion } from '../../src/cni/plugin/config.js';
import { decodePrevResult } from '../../src/cni/plugin/prev-result.js';
import { formatAddResult } from '../../src/cni/plugin/result.js';
import { runCommand, type CallDaemon, type PluginDeps } from '../../src/cni/plugin/run-command.js';
import { RpcCallError, rpcErrorBody } from '../../src/rpc/errors.js';
import type { AddResult, RpcMethod, StatusResult } from '../../src/rpc/protocol.js';

const config = { cniVersion: '1.1.0', name: 'nativeip', type: 'nativeip-cni', socketPath: '/run/test.sock' };
const addEnv = { CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/p1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };

const addResult: AddResult = {
  address: '10.0.1.5/32',
  gateway: '169.254.1.1',
  mtu: 9001,
  interfaceId: 'eni-1',
  hostInterface: { name: 'eni3f2a', mac: '02:00:00:00:00:01' },
  podInterface: { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/p1' },
};

function status(state: StatusResult['state'], reason?: string): StatusResult {
  return {
    state,
    ...(reason === undefined ? {} : { reason }),
    cloud: 'aws',
    instanceId: 'i-1',
    instanceType: 't3.medium',
    pool: { total: 5, assigned: 5, available: state === 'ready' ? 1 : 0, coolingDown: 0 },
    interfaces: [],
    pods: [],
  };
}

type Reply = { result: unknown } | { error: unknown };

function fakeDeps(replies: Partial<Record<RpcMethod, Reply>>): { deps: PluginDeps; calls: { method: RpcMethod; params: unknown }[] } {
  const calls: { method: RpcMethod; params: unknown }[] = [];
  const callDaemon = ((_socket: string, method: RpcMethod, params: unknown) => {
    calls.push({ method, params });
    const reply = replies[method];
    if (reply === undefined) return Promise.reject(new Error(`unexpected call ${method}`));
    return 'error' in reply ? Promise.reject(reply.error) : Promise.resolve(reply.result);
  }) as CallDaemon;
  return { deps: { callDaemon, appendLog: () => undefined, now: () => 0 }, calls };
}

const run = (command: string, stdin: unknown, deps: PluginDeps, env: Record<string, string> = {}) =>
  runCommand({ env: { CNI_PATH: '/opt/cni/bin', ...env, CNI_COMMAND: command }, stdin: Buffer.from(JSON.stringify(stdin)) }, deps);

describe('STATUS', () => {
  it.each([
    ['ready', status('ready')],
    ['empty but able to grow', status('growing')],
  ])('exits 0 with nothing on stdout when the pool is %s', async (_name, result) => {
    const { deps, calls } = fakeDeps({ status: { result } });
    expect(await run('STATUS', config, deps)).toEqual({ stdout: '', exitCode: 0 });
    expect(calls).toEqual([{ method: 'status', params: {} }]);
  });

  it('answers 51 with the reason when the pool is empty and cannot grow', async () => {
    const reason = 'the node has 3 of 3 network interfaces (the instance type limit) and every one holds its 5 secondary addresses';
    const { deps } = fakeDeps({ status: { result: status('blocked', reason) } });
    const out = await run('STATUS', config, deps);
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ cniVersion: '1.1.0', code: 51, msg: `no IP addresses available: ${reason}` });
  });

  it.each([
    ['unreachable', new RpcCallError('unreachable', 'nativeip-ipamd is not reachable at /run/test.sock (ENOENT)', { socketPath: '/s' })],
    ['slow', new RpcCallError('timeout', 'nativeip-ipamd did not answer status within 30000 ms', { socketPath: '/s' })],
    ['starting', new RpcCallError('remote', 'x', { socketPath: '/s', body: rpcErrorBody('NotReady', 'restoring the checkpoint') })],
  ])('answers 50 "plugin not available" when the daemon is %s', async (_name, error) => {
    const { deps } = fakeDeps({ status: { error } });
    const out = await run('STATUS', config, deps);
    expect(out.exitCode).toBe(1);
    const body = JSON.parse(out.stdout) as { code: number; msg: string };
    expect(body.code).toBe(50);
    expect(body.msg).toMatch(/^plugin not available: /);
  });

  it('is refused with code 1 for a config older than 1.1.0', async () => {
    const { deps, calls } = fakeDeps({});
    const out = await run('STATUS', { ...config, cniVersion: '1.0.0' }, deps);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 1, msg: 'CNI_COMMAND STATUS needs cniVersion 1.1.0 or later; the network config says 1.0.0' });
    expect(calls).toEqual([]);
  });
});

describe('GC', () => {
  it('sends the valid attachments of this network and prints nothing', async () => {
    const { deps, calls } = fakeDeps({ gc: { result: { released: 2 } } });
    const attachments = [{ containerID: 'c1', ifname: 'eth0' }, { containerID: 'c2', ifname: 'net1' }];
    const out = await run('GC', { ...config, 'cni.dev/valid-attachments': attachments }, deps);
    expect(out).toEqual({ stdout: '', exitCode: 0 });
    expect(calls).toEqual([
      { method: 'gc', params: { networkName: 'nativeip', validAttachments: [{ containerId: 'c1', ifName: 'eth0' }, { containerId: 'c2', ifName: 'net1' }] } },
    ]);
  });

  it('takes an empty list as "release everything" and the draft key name too', async () => {
    const { deps, calls } = fakeDeps({ gc: { result: { released: 0 } } });
    await run('GC', { ...config, 'cni.dev/attachments': [] }, deps);
    expect(calls[0]?.params).toEqual({ networkName: 'nativeip', validAttachments: [] });
  });

  it.each([
    [{}, 'invalid network config: cni.dev/valid-attachments is required for GC (an empty list releases every attachment of the network)'],
    [{ 'cni.dev/valid-attachments': {} }, 'invalid network config: cni.dev/valid-attachments: expected a list of {"containerID", "ifname"} objects'],
    [{ 'cni.dev/valid-attachments': [{ containerID: 'c1' }] }, 'invalid network config: cni.dev/valid-attachments[0].ifname: expected a string'],
    [{ 'cni.dev/valid-attachments': [{ containerID: '-x', ifname: 'eth0' }] }, /^invalid network config: cni.dev\/valid-attachments\[0\]: "-x" is not a valid container id/],
  ])('refuses %j with code 7 and calls nothing', async (extra, msg) => {
    const { deps, calls } = fakeDeps({});
    const out = await run('GC', { ...config, ...extra }, deps);
    expect(out.exitCode).toBe(1);
    const body = JSON.parse(out.stdout) as { code: number; msg: string };
    expect(body.code).toBe(7);
    expect(body.msg).toMatch(msg);
    expect(calls).toEqual([]);
  });

  it('passes a daemon failure through with its code', async () => {
    const body = rpcErrorBody('DatapathFailed', 'GC released 0 of 1 stale allocations; failed: EPERM');
    const { deps } = fakeDeps({ gc: { error: new RpcCallError('remote', body.message, { socketPath: '/s', body }) } });
    expect(JSON.parse((await run('GC', { ...config, 'cni.dev/valid-attachments': [] }, deps)).stdout)).toMatchObject({ code: 101, msg: body.message });
  });
});

describe('cniVersions', () => {
  it.each([
    [{ cniVersion: '1.0.0', cniVersions: ['1.0.0', '1.1.0'] }, '1.0.0'],
    [{ cniVersions: ['0.4.0', '1.1.0', '1.0.0'] }, '1.1.0'],
    [{ cniVersions: ['2.0.0', '1.0.0'] }, '1.0.0'],
  ])('%j speaks %s', (raw, version) => {
    expect(selectCniVersion(raw)).toBe(version);
  });

  it.each([
    [{ cniVersions: ['2.0.0', '0.2.0'] }, 1, 'incompatible CNI versions ["2.0.0","0.2.0"]: nativeip-cni supports 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0'],
    [{ cniVersions: [] }, 7, 'invalid network config: cniVersion is required'],
    [{ cniVersion: '1.1.0', cniVersions: '1.1.0' }, 7, 'invalid network config: cniVersions: expected a list of version strings such as ["1.0.0", "1.1.0"], got string "1.1.0"'],
  ])('%j fails with code %d', (raw, code, msg) => {
    expect(() => selectCniVersion(raw)).toThrow(expect.objectContaining({ code, message: msg }));
  });

  it('ADD answers in the version it picked from cniVersions', async () => {
    const { deps } = fakeDeps({ add: { result: addResult } });
    const out = await run('ADD', { name: config.name, type: config.type, socketPath: config.socketPath, cniVersions: ['0.4.0', '1.1.0'] }, deps, addEnv);
    expect(JSON.parse(out.stdout)).toMatchObject({ cniVersion: '1.1.0', ips: [{ address: '10.0.1.5/32', interface: 1 }] });
  });
});

describe('prevResult in a chain', () => {
  const prev = {
    cniVersion: '0.4.0',
    interfaces: [{ name: 'macvlan0', mac: '02:11:11:11:11:11', sandbox: '/var/run/netns/p1' }],
    ips: [{ version: '4', address: '192.168.7.9/24', gateway: '192.168.7.1', interface: 0 }],
    routes: [{ dst: '192.168.0.0/16', gw: '192.168.7.1' }],
    dns: { nameservers: ['192.168.7.53'] },
  };

  it('ADD keeps the earlier plugin interfaces, IPs, routes and DNS and appends ours', async () => {
    const { deps } = fakeDeps({ add: { result: addResult } });
    const out = await run('ADD', { ...config, cniVersion: '0.4.0', prevResult: prev }, deps, addEnv);
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({
      cniVersion: '0.4.0',
      interfaces: [prev.interfaces[0], { name: 'eni3f2a', mac: '02:00:00:00:00:01' }, { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/p1' }],
      ips: [prev.ips[0], { version: '4', address: '10.0.1.5/32', gateway: '169.254.1.1', interface: 2 }],
      routes: [prev.routes[0], { dst: '0.0.0.0/0' }],
      dns: { nameservers: ['192.168.7.53'] },
    });
  });

  it('drops the 0.x "version" field from earlier IPs in a 1.x result, and adds it going the other way', () => {
    const decoded = decodePrevResult(prev);
    expect(formatAddResult('1.1.0', addResult, decoded).ips[0]).toEqual({ address: '192.168.7.9/24', gateway: '192.168.7.1', interface: 0 });
    const modern = decodePrevResult({ ...prev, ips: [{ address: '192.168.7.9/24', interface: 0 }] });
    expect(formatAddResult('0.3.1', addResult, modern).ips[0]).toEqual({ version: '4', address: '192.168.7.9/24', interface: 0 });
  });

  it.each([
    [[], 'invalid network config: prevResult: expected an object'],
    [{ ips: [{ address: '10.0.0.1' }] }, 'invalid network config: prevResult.ips[0].address: expected an address with a prefix length'],
    [{ interfaces: [], ips: [{ address: '10.0.0.1/32', interface: 0 }] }, 'invalid network config: prevResult.ips[0].interface: expected an index into interfaces (0 to -1)'],
    [{ routes: [{ gw: '1.2.3.4' }] }, 'invalid network config: prevResult.routes[0].dst: expected a destination in CIDR notation'],
  ])('refuses a malformed prevResult %j with code 7', async (bad, msg) => {
    const { deps, calls } = fakeDeps({ add: { result: addResult } });
    const out = await run('ADD', { ...config, prevResult: bad }, deps, addEnv);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 7, msg });
    expect(calls).toEqual([]);
  });
});

describe('protocol additions', () => {
  it('carries prevAddresses on check and removed on the gc result', async () => {
    const { decodeRequest, decodeResult } = await import('../../src/rpc/decode.js');
    const params = { networkName: 'n', containerId: 'c1', ifName: 'eth0', netns: '/run/netns/p', prevAddresses: ['10.0.1.5/32'] };
    expect(decodeRequest({ v: 1, id: 1, method: 'check', params }).params).toEqual(params);
    expect(() => decodeRequest({ v: 1, id: 1, method: 'check', params: { ...params, prevAddresses: [''] } })).toThrow(/params\.prevAddresses\[0\]/);
    expect(decodeResult('gc', { released: 1, removed: ['host veth eni1'] })).toEqual({ released: 1, removed: ['host veth eni1'] });
    expect(decodeResult('gc', { released: 0 })).toEqual({ released: 0 });
  });
});
