/**
 * Runs the real plugin executable (the `bun build --compile` binary, and the same code bundled
 * for Node) against a fake daemon built on serveConnection.
 */

import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RpcServiceError } from '../../src/rpc/errors.js';
import type { AddResult, RpcRequest } from '../../src/rpc/protocol.js';
import { serveConnection } from '../../src/rpc/server-connection.js';
import { closeServer, listen, tempDir } from './rpc-helpers.js';

const root = join(import.meta.dirname, '..', '..');
const entry = join(root, 'src', 'cni', 'plugin', 'main.ts');

const addResult: AddResult = {
  address: '10.0.1.5/32',
  gateway: '169.254.1.1',
  mtu: 9001,
  interfaceId: 'eni-0abc',
  hostInterface: { name: 'nip5d41402abc4', mac: '02:00:00:00:00:01' },
  podInterface: { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/cni-1' },
};

const baseEnv = {
  CNI_CONTAINERID: 'abc123',
  CNI_NETNS: '/var/run/netns/cni-1',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
  CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0',
};

interface Run {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | null;
}

function runPlugin(command: readonly string[], env: Record<string, string>, stdin: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = command;
    if (file === undefined) throw new Error('no command');
    const child = spawn(file, args, { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ stdout, stderr, exitCode }));
    child.stdin.on('error', () => undefined); // the plugin may exit before reading stdin
    child.stdin.end(stdin);
  });
}

const dir = tempDir('nativeip-cni-');
const socketPath = join(dir.path, 'ipamd.sock');
const missingSocket = join(dir.path, 'missing.sock');
const binary = join(dir.path, 'nativeip-cni');
const bytecodeBinary = join(dir.path, 'nativeip-cni-bytecode');
const bundle = join(dir.path, 'nativeip-cni.mjs');
const seen: RpcRequest[] = [];
let handler: (req: RpcRequest) => Promise<unknown> = () => Promise.resolve({});
let server: Server;

beforeAll(async () => {
  const bun = join(root, 'node_modules', '.bin', 'bun');
  // The flags of scripts/build.mjs, and the same with --bytecode (about half the start-up time).
  await promisify(execFile)(bun, ['build', '--compile', '--minify', entry, '--outfile', binary]);
  await promisify(execFile)(bun, ['build', '--compile', '--minify', '--bytecode', entry, '--outfile', bytecodeBinary]);
  await build({ entryPoints: [entry], outfile: bundle, bundle: true, platform: 'node', target: 'node24', format: 'esm', logLevel: 'warning' });
  server = await listen(socketPath, (socket) => {
    void serveConnection(socket, (req) => {
      seen.push(req);
      return handler(req);
    });
  });
});

afterAll(async () => {
  await closeServer(server);
  dir.remove();
});

describe.each([
  ['the bun-compiled binary', () => [binary]],
  ['the bun-compiled binary with bytecode', () => [bytecodeBinary]],
  ['the Node bundle', () => [process.execPath, bundle]],
])('nativeip-cni as %s', (_runner, command) => {
  const config = (overrides: Record<string, unknown> = {}): string =>
    JSON.stringify({ cniVersion: '1.0.0', name: 'nativeip', type: 'nativeip-cni', socketPath, ...overrides });
  const run = (cniCommand: string, stdin: string, env: Record<string, string> = baseEnv): Promise<Run> =>
    runPlugin(command(), { ...env, CNI_COMMAND: cniCommand }, stdin);

  it('answers VERSION', async () => {
    const out = await run('VERSION', '{"cniVersion":"1.0.0"}', {});
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  it.each(['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'])('ADD prints a %s result', async (cniVersion) => {
    handler = () => Promise.resolve(addResult);
    seen.length = 0;
    const out = await run('ADD', config({ cniVersion, mtu: 1500 }));
    expect(out.stderr).toBe('');
    expect(out.exitCode).toBe(0);
    const ip = { address: '10.0.1.5/32', gateway: '169.254.1.1', interface: 1 };
    expect(JSON.parse(out.stdout)).toEqual({
      cniVersion,
      interfaces: [
        { name: 'nip5d41402abc4', mac: '02:00:00:00:00:01' },
        { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/cni-1' },
      ],
      ips: [cniVersion.startsWith('1.') ? ip : { version: '4', ...ip }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: {},
    });
    expect(seen).toEqual([
      {
        v: 1,
        id: expect.any(Number),
        method: 'add',
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
  });

  it('passes a daemon error through with its CNI code and reason', async () => {
    handler = () =>
      Promise.reject(new RpcServiceError('PoolExhausted', 'subnet subnet-0abc has 0 free addresses; ENI limit 3 reached'));
    const out = await run('ADD', config());
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({
      cniVersion: '1.0.0',
      code: 100,
      msg: 'subnet subnet-0abc has 0 free addresses; ENI limit 3 reached',
      details: 'nativeip-ipamd error PoolExhausted',
    });
  });

  it('ADD with the daemon down reports code 11 naming the socket', async () => {
    const out = await run('ADD', config({ socketPath: missingSocket }));
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({
      cniVersion: '1.0.0',
      code: 11,
      msg: `try again later: nativeip-ipamd is not reachable at ${missingSocket}: the socket does not exist (ENOENT)`,
    });
  });

  it('ADD with a daemon that does not answer in time reports code 11', async () => {
    handler = () => new Promise(() => undefined);
    const out = await run('ADD', config({ timeoutMs: 200 }));
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({
      code: 11,
      msg: `try again later: nativeip-ipamd at ${socketPath} did not answer add within 200 ms`,
    });
  });

  it('DEL prints nothing and exits 0', async () => {
    handler = () => Promise.resolve({});
    seen.length = 0;
    const out = await run('DEL', config(), { ...baseEnv, CNI_NETNS: '' });
    expect(out).toEqual({ stdout: '', stderr: '', exitCode: 0 });
    expect(seen.map((r) => r.method)).toEqual(['del']);
    expect(seen[0]?.params).not.toHaveProperty('netns');
  });

  it('DEL with the daemon down exits 0 and logs why', async () => {
    const logFile = join(dir.path, `plugin-${Math.random().toString(36).slice(2)}.log`);
    const out = await run('DEL', config({ socketPath: missingSocket, logFile }));
    expect(out).toEqual({ stdout: '', stderr: '', exitCode: 0 });
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ level: 'warn', command: 'DEL', containerId: 'abc123' });
    expect(lines[0]).toContain(missingSocket);
  });

  it('CHECK lists the problems with code 101', async () => {
    handler = () => Promise.resolve({ ok: false, problems: ['route 10.0.1.5/32 dev nip5d41402abc4 is missing'] });
    const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: baseEnv.CNI_NETNS }], ips: [{ address: '10.0.1.5/32', interface: 0 }] };
    const out = await run('CHECK', config({ prevResult }));
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 101, msg: 'check failed: route 10.0.1.5/32 dev nip5d41402abc4 is missing' });
  });

  it.each([
    ['malformed stdin', '{"cniVersion": "1.0.0", "name": }', baseEnv, 6, /^failed to decode content: invalid JSON at line 1, column 33 \(offset 32\): expected a value, found '}'$/],
    ['a missing CNI_NETNS', undefined, { ...baseEnv, CNI_NETNS: '' }, 4, /^invalid environment variables: CNI_NETNS is required for ADD$/],
    ['an unknown cniVersion', '{"cniVersion":"0.2.0","name":"n","type":"t"}', baseEnv, 1, /^incompatible CNI version "0\.2\.0": nativeip-cni supports 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0$/],
    ['a missing name', '{"cniVersion":"1.0.0","type":"t"}', baseEnv, 7, /^invalid network config: name is required$/],
  ])('ADD with %s fails with its CNI code', async (_name, stdin, env, code, msg) => {
    const out = await run('ADD', stdin ?? config(), env);
    expect(out.exitCode).toBe(1);
    const error = JSON.parse(out.stdout) as { code: number; msg: string };
    expect(error.code).toBe(code);
    expect(error.msg).toMatch(msg);
  });
});
