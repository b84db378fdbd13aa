import type { Server } from 'node:net';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { callDaemon } from '../../src/rpc/client.js';
import { RpcServiceError } from '../../src/rpc/errors.js';
import { encodeFrame } from '../../src/rpc/framing.js';
import type { AddResult, RpcRequest } from '../../src/rpc/protocol.js';
import { serveConnection, type RequestHandler } from '../../src/rpc/server-connection.js';
import { closeServer, deferred, exchange, listen, tempDir } from './rpc-helpers.js';

const addParams = { networkName: 'nativeip', containerId: 'c1', ifName: 'eth0', netns: '/var/run/netns/x' };
const addResult: AddResult = {
  address: '10.0.1.5/32',
  gateway: '169.254.1.1',
  mtu: 9001,
  interfaceId: 'eni-1',
  hostInterface: { name: 'nip0c1', mac: '02:00:00:00:00:01' },
  podInterface: { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/x' },
};

function request(id: number, overrides: Record<string, unknown> = {}): Buffer {
  return encodeFrame({ v: 1, id, method: 'add', params: addParams, ...overrides });
}

function lengthPrefix(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length, 0);
  return b;
}

describe('serveConnection over a real Unix socket', () => {
  const dir = tempDir('nativeip-rpc-');
  const socketPath = join(dir.path, 'ipamd.sock');
  let server: Server;
  let handler: RequestHandler = () => Promise.resolve(addResult);
  let maxInFlight: number | undefined;
  const connectionsDone: Promise<void>[] = [];

  beforeAll(async () => {
    server = await listen(socketPath, (socket) => {
      connectionsDone.push(
        serveConnection(socket, (req) => handler(req), maxInFlight === undefined ? {} : { maxInFlight }),
      );
    });
  });
  afterEach(() => {
    handler = () => Promise.resolve(addResult);
    maxInFlight = undefined;
  });
  afterAll(async () => {
    await closeServer(server);
    dir.remove();
  });

  it('answers a request made with callDaemon', async () => {
    let seen: RpcRequest | undefined;
    handler = (req) => {
      seen = req;
      return Promise.resolve(addResult);
    };
    await expect(callDaemon(socketPath, 'add', addParams, { timeoutMs: 5000 })).resolves.toEqual(addResult);
    expect(seen).toMatchObject({ method: 'add', params: addParams });
  });

  it('replies BadFrame (id 0) to garbage, closes that connection, and keeps serving others', async () => {
    const bad = await exchange(socketPath, [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]);
    expect(bad.closedByServer).toBe(true);
    expect(bad.frames).toEqual([
      {
        v: 1,
        id: 0,
        error: {
          code: 'BadFrame',
          cniCode: 6,
          message: 'frame length 1195725856 exceeds 1048576 bytes (is the peer speaking this protocol?)',
          retryable: false,
        },
      },
    ]);
    const good = await exchange(socketPath, [request(4)], { wantFrames: 1 });
    expect(good.frames).toEqual([{ v: 1, id: 4, result: addResult }]);
  });

  it('rejects a huge length prefix without waiting for the body', async () => {
    const reply = await exchange(socketPath, [lengthPrefix(0xffff_ffff)]);
    expect(reply.closedByServer).toBe(true);
    expect(reply.frames).toMatchObject([{ id: 0, error: { code: 'BadFrame', message: expect.stringContaining('4294967295') } }]);
  });

  it('rejects a frame that is not JSON', async () => {
    const body = Buffer.from('{"v":1,');
    const reply = await exchange(socketPath, [lengthPrefix(body.length), body]);
    expect(reply.closedByServer).toBe(true);
    expect(reply.frames).toMatchObject([{ id: 0, error: { code: 'BadFrame', message: expect.stringMatching(/^frame is not valid JSON/) } }]);
  });

  it('answers the requests that came before a bad frame in the same chunk', async () => {
    const reply = await exchange(socketPath, [Buffer.concat([request(1), lengthPrefix(2), Buffer.from('xx')])]);
    expect(reply.closedByServer).toBe(true);
    expect(reply.frames).toHaveLength(2);
    expect(reply.frames).toContainEqual({ v: 1, id: 1, result: addResult });
    expect(reply.frames).toContainEqual(expect.objectContaining({ id: 0, error: expect.objectContaining({ code: 'BadFrame' }) }));
  });

  it('replies VersionMismatch naming both versions and keeps the connection open', async () => {
    const reply = await exchange(socketPath, [request(9, { v: 2 }), request(10)], { wantFrames: 2 });
    expect(reply.closedByServer).toBe(false);
    expect(reply.frames).toEqual([
      {
        v: 1,
        id: 9,
        error: {
          code: 'VersionMismatch',
          cniCode: 1,
          message: 'protocol version mismatch: the request has v=2, this daemon speaks v=1',
          retryable: false,
        },
      },
      { v: 1, id: 10, result: addResult },
    ]);
  });

  it('replies InvalidRequest naming the field', async () => {
    const reply = await exchange(socketPath, [request(3, { params: { ...addParams, containerId: '' } })], { wantFrames: 1 });
    expect(reply.frames).toEqual([
      {
        v: 1,
        id: 3,
        error: {
          code: 'InvalidRequest',
          cniCode: 7,
          message: 'params.containerId: expected a non-empty string, got string ""',
          retryable: false,
        },
      },
    ]);
  });

  it('maps handler errors: RpcServiceError keeps its code, anything else is Internal', async () => {
    handler = (req) =>
      req.id === 1
        ? Promise.reject(new RpcServiceError('PoolExhausted', 'subnet subnet-1 has 0 free addresses'))
        : Promise.reject(new Error('unexpected'));
    const reply = await exchange(socketPath, [request(1), request(2)], { wantFrames: 2 });
    expect(reply.frames).toContainEqual({
      v: 1,
      id: 1,
      error: { code: 'PoolExhausted', cniCode: 100, message: 'subnet subnet-1 has 0 free addresses', retryable: false },
    });
    expect(reply.frames).toContainEqual({
      v: 1,
      id: 2,
      error: { code: 'Internal', cniCode: 103, message: 'unexpected', retryable: false },
    });
  });

  it('serves concurrent requests on one connection and matches replies by id', async () => {
    const gates = new Map([1, 2, 3].map((id) => [id, deferred()]));
    handler = async (req) => {
      await gates.get(req.id)?.promise;
      return { ...addResult, interfaceId: `eni-${req.id}` };
    };
    const pending = exchange(socketPath, [Buffer.concat([request(1), request(2), request(3)])], { wantFrames: 3 });
    for (const id of [3, 2, 1]) gates.get(id)?.resolve();
    const reply = await pending;
    expect(reply.frames.map((f) => (f as { id: number }).id).sort()).toEqual([1, 2, 3]);
    for (const frame of reply.frames) {
      const { id, result } = frame as { id: number; result: AddResult };
      expect(result.interfaceId).toBe(`eni-${id}`);
    }
  });

  it('never runs more than maxInFlight handlers at once on a connection', async () => {
    maxInFlight = 2;
    let running = 0;
    let peak = 0;
    const release = deferred();
    const twoRunning = deferred();
    handler = async () => {
      running += 1;
      peak = Math.max(peak, running);
      if (running === 2) twoRunning.resolve();
      await release.promise;
      running -= 1;
      return addResult;
    };
    const ids = [1, 2, 3, 4, 5];
    const pending = exchange(socketPath, [Buffer.concat(ids.map((id) => request(id)))], { wantFrames: 5 });
    await twoRunning.promise;
    release.resolve();
    const reply = await pending;
    expect(reply.frames).toHaveLength(5);
    expect(peak).toBe(2);
  });

  it('still replies to a peer that half-closes after sending', async () => {
    const reply = await exchange(socketPath, [request(6)], { endAfterWrite: true });
    expect(reply.frames).toEqual([{ v: 1, id: 6, result: addResult }]);
    expect(reply.closedByServer).toBe(true);
  });

  it('survives a peer that disconnects while its request is being handled', async () => {
    const gate = deferred();
    const started = deferred();
    handler = async () => {
      started.resolve();
      await gate.promise;
      return addResult;
    };
    const { createConnection } = await import('node:net');
    const socket = createConnection({ path: socketPath });
    socket.on('connect', () => socket.write(request(1)));
    await started.promise;
    socket.destroy();
    await new Promise((r) => setTimeout(r, 20));
    gate.resolve();
    handler = () => Promise.resolve(addResult);
    await expect(callDaemon(socketPath, 'add', addParams, { timeoutMs: 5000 })).resolves.toEqual(addResult);
  });
});
