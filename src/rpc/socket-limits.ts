/**
 * The daemon socket's limits and where their defaults come from. Who connects: the CNI plugin
 * (src/cni/shim, one process per CNI call, one connection per process) and the `nativeip` CLI.
 * Both are one-shot: the request is built before connecting, written the moment the connection
 * is up, and the connection is closed once the one reply is read (src/rpc/client.ts, the shim's
 * main). Nothing keeps a connection open between requests.
 */

import { MAX_FRAME_BYTES } from './protocol.js';

export interface SocketLimits {
  /** Connections served at once; a connection beyond it gets one `ConnectionLimit` frame and is closed. */
  readonly maxConnections: number;
  /** Bytes of partly received frames all connections may hold together (see frame-budget.ts). */
  readonly maxBufferedBytes: number;
  /** Largest frame a peer may announce; a larger length prefix is `BadFrame`. */
  readonly maxFrameBytes: number;
  /** A connection with no request in flight and no bytes received for this long is closed. */
  readonly idleTimeoutMs: number;
  /** A frame begun but not completed within this long is answered `ConnectionLimit` and the connection closed. */
  readonly frameTimeoutMs: number;
  /**
   * After the daemon's last frame on a connection it ends its side and closes once the frame is
   * flushed to the kernel; a peer that does not read it (its receive buffer full) is closed after this long.
   */
  readonly closeGraceMs: number;
  /**
   * Reply bytes the daemon holds for one peer beyond what the kernel's socket buffer took; a peer
   * that lets more pile up (or leaves them unread for frameTimeoutMs) is disconnected. These bytes
   * also count against maxBufferedBytes, with partial frames.
   */
  readonly maxReplyBacklogBytes: number;
}

/**
 * - maxConnections 2048. Legitimate connections are CNI calls in flight, at most one per pod
 *   being set up or torn down: kubelet runs ≤ max-pods pods (737 on the largest EC2 type, 250 on
 *   Azure), and during churn a pod slot can have the old pod's DEL and the new pod's ADD in flight
 *   together: 2 × 737 = 1474, plus a few STATUS/GC/CHECK calls and the CLI. The next power of two
 *   leaves room; an idle connection costs the daemon a few KiB, so 2048 of them stay small.
 * - maxBufferedBytes 16 MiB. A frame is partly received only while the kernel moves it: the shim
 *   writes the whole request at once and most requests (an exec of a few KiB) arrive in one read,
 *   never buffered. Worst legitimate case: every one of 737 concurrent calls caught mid-frame
 *   with a typical 8 KiB request (5.8 MiB) plus a handful of maximum-size frames (a config with a
 *   large prevResult, 1 MiB each): 16 × MAX_FRAME_BYTES covers it with room to spare, and bounds
 *   what any number of stalled peers can make the daemon hold to 16 MiB over its ~110–150 MiB.
 * - maxFrameBytes 1 MiB: the protocol's MAX_FRAME_BYTES, which the shim also enforces when it
 *   builds a request (a larger stdin is refused there as an invalid config).
 * - idleTimeoutMs 10 s. A legitimate peer sends its request in the same instant it connects, so
 *   the only gap is scheduling on a loaded node; 10 s is thousands of times that, and a plugin
 *   starved that long has spent a sixth of its 60 s deadline anyway. The longest legitimate wait
 *   (an ADD waiting up to 20 s for the pool to grow) is a request in flight, which is never idle.
 * - frameTimeoutMs 10 s. A request of at most 1 MiB written in one go crosses a Unix socket in
 *   about a millisecond; the same slack as the idle timeout.
 * - maxReplyBacklogBytes 1 MiB, one largest frame. A peer reads its one reply as it arrives and
 *   the kernel's socket buffer (~200 KiB) takes the reply first, so the daemon holds reply bytes
 *   only for a peer that is not reading, and no legitimate reply is larger than one frame. While it holds any, no
 *   further request of that peer starts, so at most maxInFlight replies pile up; the shared
 *   16 MiB budget bounds them over all peers, and frameTimeoutMs in time.
 * - closeGraceMs 1 s: the daemon's last frame (a few hundred bytes) needs room in the peer's
 *   receive buffer only; a peer that has not made that room in 1 s is not reading.
 *
 * Timers are checked once more after pending socket reads (see connection-deadline.ts), so a
 * daemon whose event loop stalls does not count its own stall against a peer.
 */
export const DEFAULT_SOCKET_LIMITS: SocketLimits = Object.freeze({
  maxConnections: 2048,
  maxBufferedBytes: 16 * MAX_FRAME_BYTES,
  maxFrameBytes: MAX_FRAME_BYTES,
  idleTimeoutMs: 10_000,
  frameTimeoutMs: 10_000,
  closeGraceMs: 1_000,
  maxReplyBacklogBytes: MAX_FRAME_BYTES,
});

/** `overrides` over the defaults; throws a RangeError naming every value that is not a whole number ≥ 1 (≥ 0 for closeGraceMs). */
export function socketLimits(overrides: Partial<SocketLimits> = {}): SocketLimits {
  const limits = { ...DEFAULT_SOCKET_LIMITS, ...overrides };
  const bad = Object.entries(limits).filter(([key, value]) => !Number.isSafeInteger(value) || value < (key === 'closeGraceMs' ? 0 : 1));
  if (bad.length > 0) {
    throw new RangeError(`invalid socket limits: ${bad.map(([key, value]) => `${key}=${String(value)}`).join(', ')}`);
  }
  return Object.freeze(limits);
}
