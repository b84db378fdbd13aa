/**
 * A peer that sends requests and never reads the replies: the daemon starts none of its further
 * requests, holds at most `maxReplyBacklogBytes` for it (counted in the shared budget) and drops
 * it; a peer that reads slowly still gets every reply, in order.
 */
import { createConnection, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { SharedFrameBudget } from '../../src/rpc/frame-budget.js';
import { FrameDecoder, encodeFrame } from '../../src/rpc/framing.js';
import { serveConnection } from '../../src/rpc/server-connection.js';
import { waitFor } from '../support/wait-for.js';
import { closeServer, listen, tempDir } from './rpc-helpers.js';

/** A reply larger than the kernel's socket buffer (~200 KiB), so the daemon has to hold part of it. */
const BIG = 'x'.repeat(300 * 1024);
const REQUESTS = 40;
const BACKLOG = 1024 * 1024;

const status = (id: number) => encodeFrame({ v: 1, id, method: 'status', params: {} });

describe('replies a peer does not read', () => {
  const dir = tempDir('nativeip-backlog-');
  const socketPath = join(dir.path, 'ipamd.sock');
  const budget = new SharedFrameBudget(16 * BACKLOG);
  let server: Server;
  let started = 0;
  let frameTimeoutMs = 5_000;
  const served: Promise<void>[] = [];

  beforeAll(async () => {
    server = await listen(socketPath, (socket) => {
      served.push(
        serveConnection(
          socket,
          () => {
            started += 1;
            return Promise.resolve(BIG);
          },
          { frameBudget: budget, frameTimeoutMs, maxReplyBacklogBytes: BACKLOG },
        ),
      );
    });
  });
  afterEach(() => {
    served.length = 0;
    started = 0;
    frameTimeoutMs = 5_000;
  });
  afterAll(async () => {
    await closeServer(server);
    dir.remove();
  });

  /** The daemon's side of the latest connection: settles once it is closed. */
  const serverSide = async (): Promise<void> => {
    await waitFor('the connection accepted', () => (served.length > 0 ? true : undefined));
    await served.at(-1);
  };

  function connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ path: socketPath }, () => resolve(socket));
      socket.on('error', reject);
    });
  }

  it('starts no request while replies pile up, drops the peer past the backlog, and gives the budget back', async () => {
    const socket = await connect();
    socket.pause();
    socket.on('error', () => undefined);
    socket.write(Buffer.concat(Array.from({ length: REQUESTS }, (_, i) => status(i + 1))));
    // A paused peer does not see the close; the daemon's side settles once it dropped the peer.
    await serverSide();
    socket.destroy();
    // 32 start together (maxInFlight) before the first reply is written; none after it blocked.
    expect(started).toBeLessThanOrEqual(32);
    expect(started).toBeLessThan(REQUESTS);
    expect(budget.reservedBytes).toBe(0);
  });

  it('drops a peer that leaves one reply unread for frameTimeoutMs', async () => {
    frameTimeoutMs = 300;
    const socket = await connect();
    socket.pause();
    socket.on('error', () => undefined);
    const sent = Date.now();
    socket.write(status(1));
    await serverSide();
    expect(Date.now() - sent).toBeGreaterThanOrEqual(frameTimeoutMs - 50);
    socket.destroy();
    expect(started).toBe(1);
    expect(budget.reservedBytes).toBe(0);
  });

  // Three replies of 300 KiB: more than the kernel takes, less than the backlog limit.
  it('serves every request, in order, to a peer that reads slowly', async () => {
    const socket = await connect();
    socket.pause();
    const decoder = new FrameDecoder();
    const ids: number[] = [];
    const all = new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        for (const frame of decoder.push(chunk)) ids.push((frame as { id: number }).id);
        if (ids.length === 3) resolve();
      });
    });
    socket.write(Buffer.concat(Array.from({ length: 3 }, (_, i) => status(i + 1))));
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.resume();
    await all;
    socket.destroy();
    expect(ids).toEqual([1, 2, 3]);
    expect(started).toBe(3);
  });
});
