/**
 * The daemon socket's limits against the attacks of issue 9 item 6: 1,000 idle connections, 400
 * connections each announcing a 1 MiB frame and sending most of it, a frame never completed, and
 * a valid frame followed by a bad one. First against RpcServer in this process with short limits,
 * then against the real daemon (built from this source, in an emulated node) with its defaults,
 * measuring its resident set before, during and after each attack.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { RpcServer, type RpcHandlers } from '../../src/ipamd/service/rpc-server.js';
import { callDaemon } from '../../src/rpc/client.js';
import { RpcCallError, RpcServiceError } from '../../src/rpc/errors.js';
import { encodeFrame } from '../../src/rpc/framing.js';
import { MAX_FRAME_BYTES, type StatusResult } from '../../src/rpc/protocol.js';
import { DEFAULT_SOCKET_LIMITS, type SocketLimits } from '../../src/rpc/socket-limits.js';
import { REPO_ROOT } from '../support/repo-root.js';
import { waitFor } from '../support/wait-for.js';
import { tempDir } from './rpc-helpers.js';
import { connectPeer, connectPeers, errorOf, rssMiB, stalledFrame, type Peer } from '../../src/demo/socket-attack.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';

const MiB = 1024 * 1024;
const status: StatusResult = {
  state: 'ready',
  cloud: 'aws',
  instanceId: 'i-1',
  instanceType: 't3.medium',
  pool: { total: 0, assigned: 0, available: 0, coolingDown: 0 },
  interfaces: [],
  pods: [],
};
const notHere = (): never => {
  throw new RpcServiceError('InvalidRequest', 'not served by this test daemon');
};
const handlers: RpcHandlers = {
  status: () => status,
  // Slow on purpose: an early request whose reply a later error must not overtake.
  del: async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    return {};
  },
  add: notHere,
  check: notHere,
  gc: notHere,
  exec: notHere,
};
const delParams = { networkName: 'nativeip', containerId: 'c1', ifName: 'eth0' };

const allClosed = (peers: readonly Peer[]): true | undefined => (peers.every((p) => p.closed) ? true : undefined);
const codesOf = (peers: readonly Peer[]): string[] => peers.map((p) => errorOf(p.frames[0])?.code ?? 'none');

async function normalClient(socketPath: string): Promise<string> {
  return (await callDaemon(socketPath, 'status', {}, { timeoutMs: 5_000 })).state;
}

describe('socket limits: RpcServer with short limits', () => {
  const dir = tempDir('nativeip-limits-');
  const servers: RpcServer[] = [];
  let count = 0;
  // Long enough that every attacker has connected before the first timeout frees its slot.
  const ATTACK_TIMEOUT_MS = 5_000;

  async function start(limits: Partial<SocketLimits>): Promise<{ server: RpcServer; socketPath: string }> {
    const socketPath = join(dir.path, `ipamd${++count}.sock`);
    const server = new RpcServer({ socketPath, handlers, logger: pino({ level: 'silent' }), limits: { closeGraceMs: 200, ...limits } });
    servers.push(server);
    await server.start();
    return { server, socketPath };
  }

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    dir.remove();
  });

  it('1,000 idle connections: the first 600 are served, the rest told the cap, all closed after the idle timeout', async () => {
    const { server, socketPath } = await start({ maxConnections: 600, idleTimeoutMs: ATTACK_TIMEOUT_MS });
    const peers = await connectPeers(socketPath, 1_000);
    const refused = await waitFor('400 refusals', () => {
      const r = peers.filter((p) => p.closed && errorOf(p.frames[0])?.code === 'ConnectionLimit');
      return r.length >= 400 ? r : undefined;
    });
    expect(errorOf(refused[0]?.frames[0])).toEqual({
      code: 'ConnectionLimit',
      cniCode: 11,
      message: 'nativeip-ipamd is serving 600 connections, its limit (600); try again',
      retryable: true,
    });
    // A normal client during the attack is refused the same clear way, not left hanging.
    const during = await callDaemon(socketPath, 'status', {}, { timeoutMs: 5_000 }).catch((err: unknown) => err);
    if (during instanceof RpcCallError) expect(during.body?.code).toBe('ConnectionLimit');
    else expect(during).toMatchObject({ state: 'ready' });

    await waitFor('every idle connection closed', () => allClosed(peers), { timeoutMs: 20_000 });
    const served = peers.filter((p) => !refused.includes(p));
    expect(served).toHaveLength(600);
    for (const peer of served) {
      expect(peer.endedByServer).toBe(true);
      expect(errorOf(peer.frames[0])).toMatchObject({ code: 'ConnectionLimit', message: `no request on this connection for ${ATTACK_TIMEOUT_MS} ms; closing it` });
    }
    expect(server.connectionCount).toBe(0);
    await expect(normalClient(socketPath)).resolves.toBe('ready');
  });

  it('400 connections each announcing 1 MiB and sending most of it: 16 MiB buffered at most, the rest refused before buffering', async () => {
    const { server, socketPath } = await start({ frameTimeoutMs: ATTACK_TIMEOUT_MS });
    const peers = await connectPeers(socketPath, 400, () => stalledFrame(MAX_FRAME_BYTES, MAX_FRAME_BYTES - 64 * 1024), 50);
    await waitFor('16 frames buffered and the rest refused', () => (peers.filter((p) => p.closed).length >= 384 && server.bufferedFrameBytes === 16 * MiB ? true : undefined));
    expect(server.bufferedFrameBytes).toBeLessThanOrEqual(DEFAULT_SOCKET_LIMITS.maxBufferedBytes);
    await expect(normalClient(socketPath)).resolves.toBe('ready');

    await waitFor('every stalled connection closed', () => allClosed(peers), { timeoutMs: 20_000 });
    const codes = codesOf(peers);
    expect(codes.filter((c) => c === 'ConnectionLimit')).toHaveLength(400);
    const messages = peers.map((p) => errorOf(p.frames[0])?.message ?? '');
    expect(messages.filter((m) => m.startsWith('refused a frame of 1048576 bytes: the daemon already buffers 16777216 bytes'))).toHaveLength(384);
    expect(messages.filter((m) => m === `frame of 1048576 bytes not completed within ${ATTACK_TIMEOUT_MS} ms (983040 bytes received); closing the connection`)).toHaveLength(16);
    expect(server.bufferedFrameBytes).toBe(0);
    await expect(normalClient(socketPath)).resolves.toBe('ready');
  });

  it.each([
    ['a header only in part', [Buffer.from([0, 0])], 'no complete frame header within 400 ms; closing the connection'],
    ['a body only in part', stalledFrame(100, 10), 'frame of 100 bytes not completed within 400 ms (10 bytes received); closing the connection'],
  ])('a frame never completed (%s) is answered ConnectionLimit and closed', async (_name, data, message) => {
    const { server, socketPath } = await start({ frameTimeoutMs: 400 });
    const peer = await connectPeer(socketPath, data);
    await waitFor('the connection closed', () => (peer.closed ? true : undefined), { timeoutMs: 5_000 });
    expect(peer.frames).toEqual([{ v: 1, id: 0, error: { code: 'ConnectionLimit', cniCode: 11, message, retryable: true } }]);
    expect(server.bufferedFrameBytes).toBe(0);
  });

  it('a valid (slow) request then a bad frame: the reply first, then BadFrame', async () => {
    const { socketPath } = await start({});
    const valid = encodeFrame({ v: 1, id: 7, method: 'del', params: delParams });
    const peer = await connectPeer(socketPath, [Buffer.concat([valid, Buffer.from('GET / HTTP/1.1\r\n\r\n')])]);
    await waitFor('the connection closed', () => (peer.closed ? true : undefined), { timeoutMs: 5_000 });
    expect(peer.frames).toEqual([{ v: 1, id: 7, result: {} }, { v: 1, id: 0, error: expect.objectContaining({ code: 'BadFrame' }) as unknown }]);
  });

  it('a slow request then a fast invalid one on the same connection: replies in request order', async () => {
    const { socketPath } = await start({});
    const slow = encodeFrame({ v: 1, id: 1, method: 'del', params: delParams });
    const invalid = encodeFrame({ v: 1, id: 2, method: 'del', params: {} });
    const fast = encodeFrame({ v: 1, id: 3, method: 'status', params: {} });
    const peer = await connectPeer(socketPath, [slow, invalid, fast]);
    await waitFor('three replies', () => (peer.frames.length >= 3 ? true : undefined), { timeoutMs: 5_000 });
    expect(peer.frames.map((f) => (f as { id: number }).id)).toEqual([1, 2, 3]);
    expect(errorOf(peer.frames[1])?.code).toBe('InvalidRequest');
    peer.socket.destroy();
  });
});

const runDaemon = process.getuid?.() === 0;
if (!runDaemon) console.warn('skipping the real-daemon attacks: they need root (an emulated node in network namespaces)');

describe.skipIf(!runDaemon)('socket limits: the built daemon under attack', () => {
  let workDir: string;
  let cluster: AwsCluster;
  let node: ClusterNode;
  let pid: number;
  let baseline: number;
  /**
   * RSS may settle this far above the baseline after an attack: V8 keeps the old space it grew
   * (measured +10 MiB after the idle attack, +18 to +33 MiB after the 1 MiB frames).
   */
  const MARGIN_MiB = 40;

  const rss = (): number => rssMiB(pid);
  /**
   * Polls RSS each second for up to 60 s, until it is within 10 MiB of the baseline (what it
   * reaches is printed, not asserted), then asserts the generous margin.
   */
  const settled = async (label: string): Promise<number> => {
    const samples: string[] = [];
    const started = Date.now();
    let now = rss();
    for (;;) {
      samples.push(`+${Math.round((Date.now() - started) / 1000)} s ${now.toFixed(1)}`);
      if (now <= baseline + 10 || Date.now() - started >= 60_000) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      now = rss();
    }
    console.log(`${label}: RSS after (MiB, baseline ${baseline.toFixed(1)}): ${samples.filter((_, i) => i % 10 === 0 || i === samples.length - 1).join(', ')}`);
    expect(now).toBeLessThanOrEqual(baseline + MARGIN_MiB);
    return now;
  };

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'nativeip-limits-daemon-'));
    const binDir = join(REPO_ROOT, 'dist', 'bin');
    cluster = await startAwsCluster({ prefix: 'skl-', nodes: 1, instanceType: 't3.medium', binDir, workDir, daemonEnv: { NATIVEIP_LOG_LEVEL: 'info' } });
    node = cluster.nodes[0] as ClusterNode;
    pid = node.process?.pid ?? 0;
    await cluster.waitForPool(node, 1);
    // Settle after start-up before taking the baseline.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    baseline = rss();
    console.log(`daemon pid ${pid}: baseline RSS ${baseline.toFixed(1)} MiB`);
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
    await rm(workDir, { recursive: true, force: true });
  }, 60_000);

  it('1,000 idle connections, then past the 2,048 cap: excess refused clearly, idle ones closed, RSS back', async () => {
    const idle = await connectPeers(node.socketPath, 1_000);
    await expect(normalClient(node.socketPath)).resolves.toBeDefined();
    const during = rss();
    const more = await connectPeers(node.socketPath, 1_100);
    const all = [...idle, ...more];
    const refused = await waitFor('refusals past the cap', () => {
      const r = all.filter((p) => p.closed);
      return r.length >= 2_100 - DEFAULT_SOCKET_LIMITS.maxConnections ? r : undefined;
    });
    const duringCap = rss();
    console.log(`idle attack: RSS during ${during.toFixed(1)} MiB (1,000 open), ${duringCap.toFixed(1)} MiB (2,048 open)`);
    expect(errorOf(refused[0]?.frames[0])).toMatchObject({ code: 'ConnectionLimit', message: expect.stringContaining('its limit (2048)') as unknown });

    await waitFor('every idle connection closed', () => allClosed(all), { timeoutMs: 60_000 });
    expect(codesOf(all).filter((c) => c === 'ConnectionLimit')).toHaveLength(2_100);
    await expect(normalClient(node.socketPath)).resolves.toBeDefined();
    await settled('idle attack');
  }, 150_000);

  it('400 connections each announcing 1 MiB and sending most of it: refused past 16 MiB, RSS back', async () => {
    const peers = await connectPeers(node.socketPath, 400, () => stalledFrame(MAX_FRAME_BYTES, MAX_FRAME_BYTES - 64 * 1024), 50);
    await waitFor('the refusals', () => (peers.filter((p) => p.closed).length >= 384 ? true : undefined));
    await expect(normalClient(node.socketPath)).resolves.toBeDefined();
    const during = rss();
    console.log(`buffer attack: RSS during ${during.toFixed(1)} MiB`);
    await waitFor('every stalled connection closed', () => allClosed(peers), { timeoutMs: 60_000 });
    const messages = peers.map((p) => errorOf(p.frames[0])?.message ?? `none (${p.error ?? 'no error'})`);
    const tally = new Map<string, number>();
    for (const m of messages) {
      const key = m.replace(/\d+ bytes of partly/, 'N bytes of partly').replace(/\(\d+ bytes received\)/, '(N bytes received)');
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    console.log('buffer attack: replies', tally);
    // Only the 16 frames the budget admitted were ever buffered, so only they can time out. A
    // refused peer still blocked writing its frame may see EPIPE before it reads the refusal:
    // the daemon does not drain what it refused (end-connection.ts).
    expect(messages.filter((m) => m.startsWith('frame of 1048576 bytes not completed within 10000 ms'))).toHaveLength(16);
    const refusedClearly = messages.filter((m) => m.startsWith('refused a frame of 1048576 bytes')).length;
    expect(refusedClearly).toBeGreaterThan(300);
    expect(messages.filter((m) => m.startsWith('none') && !/EPIPE|ECONNRESET/.test(m))).toEqual([]);
    await expect(normalClient(node.socketPath)).resolves.toBeDefined();
    await settled('buffer attack');
  }, 150_000);

  it('a valid request then a bad frame on one connection: the reply arrives first, then BadFrame', async () => {
    const valid = encodeFrame({ v: 1, id: 5, method: 'status', params: {} });
    const peer = await connectPeer(node.socketPath, [Buffer.concat([valid, Buffer.from('GET / HTTP/1.1\r\n\r\n')])]);
    await waitFor('the connection closed', () => (peer.closed ? true : undefined), { timeoutMs: 10_000 });
    expect(peer.frames.map((f) => [(f as { id: number }).id, errorOf(f)?.code ?? 'result'])).toEqual([
      [5, 'result'],
      [0, 'BadFrame'],
    ]);
    await expect(normalClient(node.socketPath)).resolves.toBeDefined();
  });
});
