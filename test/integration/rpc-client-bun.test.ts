/**
 * The RPC client under Bun (the plugin's runtime) goes through Bun.connect, not node:net, and
 * behaves like the Node transport: same results, same errors. Runs the client in a Bun process
 * against fake daemons served from this process.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { closeServer, fakeDaemon, tempDir } from './rpc-helpers.js';

const BUN = join(process.cwd(), 'node_modules', '.bin', 'bun');
const RUNNER = join(process.cwd(), 'test', 'integration', 'rpc-client-bun-runner.ts');
const run = promisify(execFile);

interface Outcome {
  readonly transport: string;
  readonly result?: unknown;
  readonly error?: { kind?: string; message: string; errno?: string; body?: { code?: string } };
}

async function callUnderBun(socketPath: string, method: string, params: unknown, timeoutMs = 3000): Promise<Outcome> {
  const paramsFile = `${socketPath}.params.json`;
  writeFileSync(paramsFile, JSON.stringify(params));
  const { stdout } = await run(BUN, [RUNNER, socketPath, method, paramsFile, String(timeoutMs)]);
  return JSON.parse(stdout) as Outcome;
}

describe('callDaemon under Bun', () => {
  const dir = tempDir('nativeip-rpc-bun-');
  let n = 0;
  const nextSocket = (): string => join(dir.path, `b${n++}.sock`);
  afterAll(() => dir.remove());

  it('uses Bun.connect and returns the decoded result of a large request, sent whole', async () => {
    const socketPath = nextSocket();
    let seen: unknown;
    const server = await fakeDaemon(socketPath, (req) => {
      seen = req;
      return { v: 1, id: req.id, result: { released: 7 } };
    });
    try {
      // ~700 KiB: more than a Unix socket takes in one write, so the transport must finish on drain.
      const validAttachments = Array.from({ length: 9000 }, (_, i) => ({ containerId: `c${i}`.padEnd(64, 'x'), ifName: 'eth0' }));
      const outcome = await callUnderBun(socketPath, 'gc', { networkName: 'nativeip', validAttachments });
      expect(outcome).toEqual({ transport: 'bun', result: { released: 7 } });
      expect((seen as { params: { validAttachments: unknown[] } }).params.validAttachments).toHaveLength(9000);
    } finally {
      await closeServer(server);
    }
  });

  it('reports a missing socket and a refused one as unreachable with the same messages as under Node', async () => {
    const missing = join(dir.path, 'missing.sock');
    const a = await callUnderBun(missing, 'status', {});
    expect(a.transport).toBe('bun');
    expect(a.error).toMatchObject({ kind: 'unreachable', errno: 'ENOENT', message: `nativeip-ipamd is not reachable at ${missing}: the socket does not exist (ENOENT)` });
    const stale = join(dir.path, 'stale.sock');
    writeFileSync(stale, '');
    const b = await callUnderBun(stale, 'status', {});
    expect(b.error?.kind).toBe('unreachable');
    expect(b.error?.message).toContain(stale);
  });

  it('passes a daemon error through and reports a hang-up as disconnected', async () => {
    const remote = nextSocket();
    const body = { code: 'PoolExhausted', cniCode: 100, message: 'no free addresses', retryable: false };
    const s1 = await fakeDaemon(remote, (req) => ({ v: 1, id: req.id, error: body }));
    const hangUp = nextSocket();
    const s2 = await fakeDaemon(hangUp, () => undefined, 'hang-up');
    try {
      const a = await callUnderBun(remote, 'del', { networkName: 'nativeip', containerId: 'c1', ifName: 'eth0' });
      expect(a.error).toMatchObject({ kind: 'remote', message: body.message, body });
      const b = await callUnderBun(hangUp, 'del', { networkName: 'nativeip', containerId: 'c1', ifName: 'eth0' });
      expect(b.error?.kind).toBe('disconnected');
      expect(b.error?.message).toContain('closed the connection before answering del');
    } finally {
      await closeServer(s1);
      await closeServer(s2);
    }
  });
});
