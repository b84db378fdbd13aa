/** Ending a connection the daemon has given up on, so that its last frame is still read. */

import type { Socket } from 'node:net';

/**
 * Writes `lastFrame` (if any) and ends the daemon's side, then reads and discards whatever the
 * peer still sends until it ends or closes, or `graceMs` passes, and destroys the socket. A peer
 * still writing its request (the plugin writes the whole frame before it reads) thus reads the
 * daemon's answer instead of failing on a broken pipe. Does nothing to a destroyed socket.
 */
export function endAndDrain(socket: Socket, graceMs: number, lastFrame?: Uint8Array): void {
  if (socket.destroyed) return;
  socket.on('error', () => undefined);
  const destroy = (): void => {
    socket.destroy();
  };
  // Once both sides have ended: after the daemon's last bytes reached the kernel.
  const destroyWhenFlushed = (): void => {
    if (socket.writableFinished) destroy();
    else socket.once('finish', destroy);
  };
  const timer = setTimeout(destroy, graceMs);
  socket.once('close', () => clearTimeout(timer));
  if (socket.readableEnded) destroyWhenFlushed();
  else socket.once('end', destroyWhenFlushed);
  if (!socket.writableEnded) {
    if (lastFrame === undefined) socket.end();
    else socket.end(lastFrame);
  }
  socket.on('data', () => undefined);
  socket.resume();
}
