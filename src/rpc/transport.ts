/**
 * How the RPC client reaches the daemon's Unix socket. Two implementations, picked at run time:
 * Bun's own socket API when the plugin runs as the Bun executable (it skips loading `node:net`,
 * a few milliseconds of every plugin process), `node:net` under Node. Each is imported only
 * when chosen.
 */

/** What a connection reports; each callback fires at most once, `data` any number of times. */
export interface TransportEvents {
  /** Connected, and the request frame handed to the socket. */
  readonly connected: () => void;
  readonly data: (chunk: Uint8Array) => void;
  /** The connection failed or broke; `errno` (`ENOENT`, `ECONNREFUSED`, …) when known. */
  readonly failed: (error: Error, errno: string | undefined) => void;
  /** The peer closed the connection (or it was destroyed). */
  readonly closed: () => void;
}

export interface TransportConnection {
  /** Closes the connection; no event fires after it. */
  destroy(): void;
}

/** Connects to `socketPath` and sends `frame` once connected. */
export type Connect = (socketPath: string, frame: Uint8Array, events: TransportEvents) => TransportConnection;

export type TransportName = 'bun' | 'node';

/** `bun` when running under Bun (its global `Bun.connect` exists), else `node`. */
export function defaultTransport(): TransportName {
  const bun: unknown = (globalThis as { Bun?: unknown }).Bun;
  return typeof bun === 'object' && bun !== null && typeof (bun as { connect?: unknown }).connect === 'function' ? 'bun' : 'node';
}

export async function loadTransport(name: TransportName): Promise<Connect> {
  if (name === 'bun') return (await import('./transport-bun.js')).connectBun;
  return (await import('./transport-node.js')).connectNode;
}
