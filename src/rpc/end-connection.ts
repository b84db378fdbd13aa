/** Closing a connection the daemon has given up on, so that its last frame is still read. */

import type { Socket } from 'node:net';

/**
 * Stops reading, writes `lastFrame` (if any), ends the daemon's side and destroys the socket once
 * the frame has reached the kernel, or after `graceMs` if the peer does not read it. Does nothing
 * to a destroyed socket.
 *
 * The frame survives the close: on a Unix socket what was sent stays in the peer's receive queue.
 * The peer's unread bytes are deliberately not drained: reading and discarding 400 stalled 1 MiB
 * frames churns 400 MiB through the allocator, which is what kept the daemon's resident set high
 * after the attack of issue 9 item 6. The cost: a peer still blocked writing a large frame (over
 * the ~200 KiB socket buffer) gets EPIPE instead of reading the answer; a request of a few KiB is
 * already in the kernel's queue when the daemon answers, so its writer reads the answer.
 */
export function endConnection(socket: Socket, graceMs: number, lastFrame?: Uint8Array): void {
  if (socket.destroyed) return;
  socket.on('error', () => undefined);
  socket.pause();
  const destroy = (): void => {
    socket.destroy();
  };
  const timer = setTimeout(destroy, graceMs);
  socket.once('close', () => clearTimeout(timer));
  if (socket.writableFinished) destroy();
  else socket.once('finish', destroy);
  if (!socket.writableEnded) {
    if (lastFrame === undefined) socket.end();
    else socket.end(lastFrame);
  }
}
