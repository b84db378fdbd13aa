/**
 * What the socket-limits tests need: the daemon built from the current source into a private
 * directory (so a concurrent `npm run build` of dist/ is neither needed nor disturbed), the
 * resident set of a process, and the attacking peers of issue 9 item 6.
 */

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';

import { build } from 'esbuild';

import { FrameDecoder } from '../../src/rpc/framing.js';
import { REPO_ROOT } from '../support/repo-root.js';

/**
 * Builds nativeip-ipamd as scripts/build.mjs does (same bundle options, same launcher: Node with a
 * 1 MiB young generation and MALLOC_ARENA_MAX=2) under `.tmp/<name>`; returns its bin directory.
 */
export async function buildDaemon(name: string): Promise<string> {
  const root = join(REPO_ROOT, '.tmp', name);
  rmSync(root, { recursive: true, force: true });
  const bin = join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  await build({
    entryPoints: { 'nativeip-ipamd': join(REPO_ROOT, 'src/ipamd/main.ts') },
    outdir: join(root, 'js'),
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    external: ['netlink', 'koffi'],
    mainFields: ['module', 'main'],
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    banner: { js: "import { createRequire as __nativeipCreateRequire } from 'node:module';\nconst require = __nativeipCreateRequire(import.meta.url);" },
  });
  const launcher = `#!/bin/sh\n: "\${MALLOC_ARENA_MAX:=2}"\nexport MALLOC_ARENA_MAX\nexec node --max-semi-space-size=1 "$(dirname "$(readlink -f "$0")")/../js/nativeip-ipamd.mjs" "$@"\n`;
  writeFileSync(join(bin, 'nativeip-ipamd'), launcher, { mode: 0o755 });
  return bin;
}

/** VmRSS of `pid` in MiB, from /proc. */
export function rssMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
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

/**
 * Connects and, once connected, writes `data` (may be nothing: an idle peer). Never rejects.
 * A full listen backlog (EAGAIN) is retried, as a persistent attacker would.
 */
export async function connectPeer(socketPath: string, data: readonly Buffer[] = []): Promise<Peer> {
  for (;;) {
    const peer = await connectOnce(socketPath, data);
    if (peer.error !== 'EAGAIN' || peer.frames.length > 0) return peer;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function connectOnce(socketPath: string, data: readonly Buffer[]): Promise<Peer> {
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
      for (const chunk of data) socket.write(chunk);
      resolve(peer);
    });
  });
}

/** Opens `count` peers, `batch` connects at a time (a burst of thousands overflows the listen backlog). */
export async function connectPeers(socketPath: string, count: number, data: () => readonly Buffer[] = () => [], batch = 100): Promise<Peer[]> {
  const peers: Peer[] = [];
  for (let i = 0; i < count; i += batch) {
    peers.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - i) }, () => connectPeer(socketPath, data())))));
  }
  return peers;
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
