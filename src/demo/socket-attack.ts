/** Hostile peers of the daemon's socket (test/integration/socket-limits.test.ts, bench/socket-attack.ts), and the resident set of a process. */

import { readFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';

import { FrameDecoder, encodeFrame } from '../rpc/framing.js';
import { sleep } from '../core/sleep.js';

/** VmRSS of `pid` in MiB, from /proc. */
export function rssMiB(pid: number): number {
  return statusMiB(pid, 'VmRSS');
}

/**
 * VmHWM of `pid` in MiB: the highest resident set since it started, as the kernel counts it (no
 * sampling gaps, but updated lazily: it can read a little under a VmRSS sampled moments before).
 */
export function peakRssMiB(pid: number): number {
  return statusMiB(pid, 'VmHWM');
}

function statusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`no ${field} for pid ${pid}`);
  return Number(match[1]) / 1024;
}

/**
 * Connections the server `pid` holds on the Unix socket `socketPath` now, from /proc/<pid>/net/unix
 * (accepted sockets carry the listener's path; the peers' unbound ends do not). Counts what the
 * server has not closed yet, whether or not its peer has noticed.
 */
export function serverConnections(pid: number, socketPath: string): number {
  const connected = '03';
  return readFileSync(`/proc/${pid}/net/unix`, 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[5] === connected && fields[7] === socketPath).length;
}

/** One attacking connection: what the daemon sent it and when the daemon closed it. */
export interface Peer {
  readonly socket: Socket;
  readonly frames: unknown[];
  /** Set once the connection has closed (for whatever reason). */
  closed: boolean;
  /** True when the daemon ended its side (rather than this peer destroying the socket). */
  endedByServer: boolean;
  /** The first socket error (EPIPE when the daemon closed while this peer was writing, …). */
  error: string | undefined;
}

/** How a peer behaves once connected. */
export interface PeerOptions {
  /**
   * False: the peer stops reading before it writes (`socket.pause()`), so what the server sends
   * stays in the kernel and then in the server; it also sees no close until `socket.resume()`.
   * Default true.
   */
  readonly read?: boolean;
}

/**
 * Connects and, once connected, writes `data` (may be nothing: an idle peer). Never rejects.
 * A full listen backlog (EAGAIN) is retried, as a persistent attacker would.
 */
export async function connectPeer(socketPath: string, data: readonly Buffer[] = [], options: PeerOptions = {}): Promise<Peer> {
  for (;;) {
    const peer = await connectOnce(socketPath, data, options.read ?? true);
    if (peer.error !== 'EAGAIN' || peer.frames.length > 0) return peer;
    await sleep(5);
  }
}

function connectOnce(socketPath: string, data: readonly Buffer[], read: boolean): Promise<Peer> {
  return new Promise((resolve) => {
    const socket = createConnection({ path: socketPath, allowHalfOpen: true });
    const peer: Peer = { socket, frames: [], closed: false, endedByServer: false, error: undefined };
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      try {
        peer.frames.push(...decoder.push(chunk));
      } catch {
        socket.destroy();
      }
    });
    socket.on('end', () => {
      peer.endedByServer = true;
      socket.end();
    });
    // The daemon may close while a stalled peer is still writing (EPIPE): part of the attack.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      peer.error ??= err.code ?? err.message;
    });
    socket.on('close', () => {
      peer.closed = true;
      resolve(peer);
    });
    socket.on('connect', () => {
      if (!read) socket.pause();
      for (const chunk of data) socket.write(chunk);
      resolve(peer);
    });
  });
}

/** Opens `count` peers, `batch` connects at a time (a burst of thousands overflows the listen backlog). */
export async function connectPeers(socketPath: string, count: number, data: () => readonly Buffer[] = () => [], batch = 100, options: PeerOptions = {}): Promise<Peer[]> {
  const peers: Peer[] = [];
  for (let i = 0; i < count; i += batch) {
    peers.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - i) }, () => connectPeer(socketPath, data(), options)))));
  }
  return peers;
}

/** `count` STATUS requests (ids 1…count) in one buffer, to be written at once. */
export function statusRequests(count: number): Buffer[] {
  return [Buffer.concat(Array.from({ length: count }, (_, i) => encodeFrame({ v: 1, id: i + 1, method: 'status', params: {} })))];
}

/** A length prefix announcing `length` bytes, then `sent` bytes of a JSON string body (never completed when sent < length). */
export function stalledFrame(length: number, sent: number): Buffer[] {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(length, 0);
  const body = Buffer.alloc(sent, 0x61);
  if (sent > 0) body[0] = 0x22;
  return [header, body];
}

/** The `error` of a frame, if it is an error reply. */
export function errorOf(frame: unknown): { code: string; message: string; retryable: boolean } | undefined {
  return (frame as { error?: { code: string; message: string; retryable: boolean } } | undefined)?.error;
}
