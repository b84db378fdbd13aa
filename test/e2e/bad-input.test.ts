/**
 * Bad input at every door of the real binaries: each gets a clear error that names the problem,
 * and the daemon keeps serving.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { createPodNetns, deletePodNetns, runPlugin } from '../../src/demo/pods.js';
import { DIST_BIN, e2eSkipReason } from './support/cnitool.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';

const PREFIX = 'e2b-';
const skip = e2eSkipReason();
const PLUGIN = join(DIST_BIN, 'nativeip-cni');

function sendRaw(socketPath: string, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.setTimeout(5_000, () => socket.destroy());
    socket.write(bytes);
  });
}

function decodeFirstFrame(bytes: Buffer): { error?: { code: string; message: string } } {
  const length = bytes.readUInt32BE(0);
  return JSON.parse(bytes.subarray(4, 4 + length).toString('utf8')) as { error?: { code: string; message: string } };
}

describe.skipIf(skip !== undefined)('bad input against the real binaries', () => {
  let workDir: string;
  let cluster: AwsCluster;
  let node: ClusterNode;
  let netnsPath: string;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'nativeip-bad-'));
    cluster = await startAwsCluster({ prefix: PREFIX, nodes: 1, instanceType: 't3.medium', binDir: DIST_BIN, workDir });
    node = cluster.nodes[0]!;
    netnsPath = await createPodNetns(`${PREFIX}pod`);
  }, 180_000);

  afterAll(async () => {
    await deletePodNetns(`${PREFIX}pod`);
    await cluster?.close();
    await rm(workDir, { recursive: true, force: true });
  }, 60_000);

  const config = () => ({ cniVersion: '1.0.0', name: 'nativeip', type: 'nativeip-cni', socketPath: node.socketPath });

  it('garbage on the socket gets a BadFrame reply and the daemon keeps serving', async () => {
    const reply = await sendRaw(node.socketPath, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    const frame = decodeFirstFrame(reply);
    expect(frame.error?.code).toBe('BadFrame');
    expect(frame.error?.message).toMatch(/frame length \d+ exceeds/);
    const status = await cluster.status(node);
    expect(status.instanceId).toBe(node.instanceId);
  });

  it('a frame with valid JSON but a wrong protocol version is refused by name', async () => {
    const body = Buffer.from(JSON.stringify({ v: 99, id: 7, method: 'status', params: {} }));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length);
    const socket = createConnection(node.socketPath);
    const reply = await new Promise<Buffer>((resolve, reject) => {
      socket.once('data', resolve);
      socket.once('error', reject);
      socket.write(Buffer.concat([header, body]));
    });
    socket.destroy();
    const frame = decodeFirstFrame(reply);
    expect(frame.error?.code).toBe('VersionMismatch');
    expect(frame.error?.message).toMatch(/99/);
  });

  it('malformed stdin JSON → CNI code 6 naming the parse error', async () => {
    const outcome = await runPlugin(PLUGIN, { command: 'ADD', containerId: 'bad1', netns: netnsPath, ifName: 'eth0', config: {} }, 30_000);
    // Feed broken JSON by hand: runPlugin always sends valid JSON, so use the raw process here.
    const raw = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(PLUGIN, [], { env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'bad1', CNI_NETNS: netnsPath, CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' } });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('close', (code) => resolve({ code, stdout }));
      child.stdin.on('error', () => undefined);
      child.stdin.end('{"cniVersion": "1.0.0", "name": ');
    });
    expect(raw.code).toBe(1);
    const error = JSON.parse(raw.stdout) as { code: number; msg: string };
    expect(error.code).toBe(6);
    expect(error.msg).toMatch(/decode|JSON/i);
    expect(outcome.exitCode).not.toBe(0); // `{}` has no cniVersion/name: also refused
  });

  it('missing CNI_NETNS on ADD → CNI code 4 naming the variable', async () => {
    const outcome = await runPlugin(PLUGIN, { command: 'ADD', containerId: 'bad2', netns: '', ifName: 'eth0', config: config() }, 30_000);
    const error = JSON.parse(outcome.stdout) as { code: number; msg: string };
    expect(outcome.exitCode).toBe(1);
    expect(error.code).toBe(4);
    expect(error.msg).toMatch(/CNI_NETNS/);
  });

  it('unknown cniVersion → CNI code 1 naming the version', async () => {
    const outcome = await runPlugin(PLUGIN, { command: 'ADD', containerId: 'bad3', netns: netnsPath, ifName: 'eth0', config: { ...config(), cniVersion: '9.9.9' } }, 30_000);
    const error = JSON.parse(outcome.stdout) as { code: number; msg: string };
    expect(error.code).toBe(1);
    expect(error.msg).toMatch(/9\.9\.9/);
  });

  it('WARM_IP_TARGET=abc stops the daemon with a message naming the variable, the value and what is allowed', async () => {
    const child = spawn(join(DIST_BIN, 'nativeip-ipamd'), [], { env: { ...node.env, WARM_IP_TARGET: 'abc', NATIVEIP_SOCKET: join(workDir, 'other.sock') } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/WARM_IP_TARGET="abc"/);
    expect(stderr).toMatch(/whole number/);
  });

  it('a typo in a nativeip variable is an error with a suggestion, not silently ignored', async () => {
    const child = spawn(join(DIST_BIN, 'nativeip-ipamd'), [], { env: { ...node.env, NATIVEIP_LOG_LEVLE: 'debug', NATIVEIP_SOCKET: join(workDir, 'other.sock') } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/NATIVEIP_LOG_LEVLE/);
    expect(stderr).toMatch(/NATIVEIP_LOG_LEVEL/);
  });

  it('after all that, a real ADD and DEL still work', async () => {
    const add = await runPlugin(PLUGIN, { command: 'ADD', containerId: 'good', netns: netnsPath, ifName: 'eth0', config: config() });
    expect(add.exitCode, add.stdout).toBe(0);
    const del = await runPlugin(PLUGIN, { command: 'DEL', containerId: 'good', netns: netnsPath, ifName: 'eth0', config: config() });
    expect(del.exitCode, del.stdout).toBe(0);
  }, 60_000);
});
