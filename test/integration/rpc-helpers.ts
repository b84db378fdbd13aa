/** Socket helpers shared by the RPC and CNI plugin integration tests. */

import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FrameDecoder, encodeFrame } from '../../src/rpc/framing.js';

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

const openSockets = new WeakMap<Server, Set<Socket>>();

export async function listen(socketPath: string, onConnection: (socket: Socket) => void): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  openSockets.set(server, sockets);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return server;
}

/**
 * A fake daemon: on the first request frame of a connection it writes `reply(request)`
 * (`answer`), says nothing (`silent`) or closes the connection (`hang-up`).
 */
export function fakeDaemon(
  socketPath: string,
  reply: (request: { id: number }) => unknown,
  behaviour: 'answer' | 'silent' | 'hang-up' = 'answer',
): Promise<Server> {
  return listen(socketPath, (socket: Socket) => {
    const decoder = new FrameDecoder();
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      const [first] = decoder.push(chunk);
      if (first === undefined) return;
      if (behaviour === 'hang-up') socket.destroy();
      else if (behaviour === 'answer') socket.write(encodeFrame(reply(first as { id: number })));
    });
  });
}

/** Stops listening and destroys the connections still open. */
export function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const socket of openSockets.get(server) ?? []) socket.destroy();
  return closed;
}

export interface RawExchange {
  /** Frames received before the server closed the connection (or `wantFrames` arrived). */
  readonly frames: unknown[];
  /** True when the server closed the connection. */
  readonly closedByServer: boolean;
}

/**
 * Connects, writes `data` (each element a separate write), and collects reply frames until
 * `wantFrames` have arrived or the server closes the connection.
 */
export function exchange(
  socketPath: string,
  data: readonly Buffer[],
  options: { wantFrames?: number; endAfterWrite?: boolean } = {},
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const frames: unknown[] = [];
    const decoder = new FrameDecoder();
    const socket = createConnection({ path: socketPath, allowHalfOpen: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`exchange timed out with ${frames.length} frames: ${JSON.stringify(frames)}`));
    }, 10_000);
    const done = (closedByServer: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ frames, closedByServer });
    };
    socket.on('connect', () => {
      for (const chunk of data) socket.write(chunk);
      if (options.endAfterWrite === true) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      frames.push(...decoder.push(chunk));
      if (options.wantFrames !== undefined && frames.length >= options.wantFrames) done(false);
    });
    socket.on('end', () => done(true));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** A promise with its resolve function, for handlers the test releases by hand. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
