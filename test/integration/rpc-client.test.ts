import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { callDaemon } from '../../src/rpc/client.js';
import { RpcCallError } from '../../src/rpc/errors.js';
import { closeServer, fakeDaemon, tempDir } from './rpc-helpers.js';

const delParams = { networkName: 'nativeip', containerId: 'c1', ifName: 'eth0' };

async function callError(promise: Promise<unknown>): Promise<RpcCallError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(RpcCallError);
    return err as RpcCallError;
  }
  throw new Error('expected the call to fail');
}

describe('callDaemon', () => {
  const dir = tempDir('nativeip-rpc-client-');
  let n = 0;
  const nextSocket = (): string => join(dir.path, `d${n++}.sock`);
  afterAll(() => dir.remove());

  it('reports a missing socket as unreachable, naming the socket and ENOENT', async () => {
    const socketPath = join(dir.path, 'missing.sock');
    const err = await callError(callDaemon(socketPath, 'del', delParams, { timeoutMs: 2000 }));
    expect(err.kind).toBe('unreachable');
    expect(err.unreachable).toBe(true);
    expect(err.errno).toBe('ENOENT');
    expect(err.message).toBe(`nativeip-ipamd is not reachable at ${socketPath}: the socket does not exist (ENOENT)`);
  });

  it('reports a path with no listener as unreachable (connection refused)', async () => {
    const socketPath = join(dir.path, 'stale.sock');
    writeFileSync(socketPath, '');
    const err = await callError(callDaemon(socketPath, 'del', delParams, { timeoutMs: 2000 }));
    expect(err.kind).toBe('unreachable');
    expect(err.errno).toBe('ECONNREFUSED');
    expect(err.message).toContain(socketPath);
  });

  it('passes a daemon error through as kind remote with its body', async () => {
    const socketPath = nextSocket();
    const body = { code: 'PoolExhausted', cniCode: 100, message: 'subnet subnet-1 has 0 free addresses', retryable: false };
    const server = await fakeDaemon(socketPath, (req) => ({ v: 1, id: req.id, error: body }));
    try {
      const err = await callError(callDaemon(socketPath, 'del', delParams, { timeoutMs: 2000 }));
      expect(err.kind).toBe('remote');
      expect(err.body).toEqual(body);
      expect(err.message).toBe(body.message);
    } finally {
      await closeServer(server);
    }
  });

  it('times out with a message naming the socket and the deadline', async () => {
    const socketPath = nextSocket();
    const server = await fakeDaemon(socketPath, () => undefined, 'silent');
    try {
      const err = await callError(callDaemon(socketPath, 'del', delParams, { timeoutMs: 150 }));
      expect(err.kind).toBe('timeout');
      expect(err.message).toBe(`nativeip-ipamd at ${socketPath} did not answer del within 150 ms`);
    } finally {
      await closeServer(server);
    }
  });

  it('reports a daemon that hangs up without answering as disconnected', async () => {
    const socketPath = nextSocket();
    const server = await fakeDaemon(socketPath, () => undefined, 'hang-up');
    try {
      const err = await callError(callDaemon(socketPath, 'del', delParams, { timeoutMs: 2000 }));
      expect(err.kind).toBe('disconnected');
      expect(err.message).toContain('closed the connection before answering del');
    } finally {
      await closeServer(server);
    }
  });

  it.each([
    ['a reply with the wrong id', (req: { id: number }) => ({ v: 1, id: req.id + 1, result: {} }), 'BadFrame', /answered request id \d+, expected \d+/],
    ['a reply with another version', (req: { id: number }) => ({ v: 2, id: req.id, result: {} }), 'VersionMismatch', /the response has v=2, this client speaks v=1/],
    ['a result of the wrong shape', (req: { id: number }) => ({ v: 1, id: req.id, result: [] }), 'BadFrame', /result: expected an object, got an array/],
  ])('reports %s as a protocol error', async (_name, reply, code, message) => {
    const socketPath = nextSocket();
    const server = await fakeDaemon(socketPath, reply);
    try {
      const err = await callError(callDaemon(socketPath, 'del', delParams, { timeoutMs: 2000 }));
      expect(err.kind).toBe('protocol');
      expect(err.body?.code).toBe(code);
      expect(err.message).toMatch(message);
    } finally {
      await closeServer(server);
    }
  });

  it('sends v, id, method and params and returns the decoded result', async () => {
    const socketPath = nextSocket();
    let seen: unknown;
    const server = await fakeDaemon(socketPath, (req) => {
      seen = req;
      return { v: 1, id: req.id, result: { released: 3 } };
    });
    try {
      const params = { networkName: 'nativeip', validAttachments: [] };
      await expect(callDaemon(socketPath, 'gc', params, { timeoutMs: 2000, id: 42 })).resolves.toEqual({ released: 3 });
      expect(seen).toEqual({ v: 1, id: 42, method: 'gc', params });
    } finally {
      await closeServer(server);
    }
  });
});
