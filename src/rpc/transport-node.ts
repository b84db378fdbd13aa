/** The RPC transport over `node:net` (the daemon's tools, tests, the plugin under Node). */
import { createConnection } from 'node:net';
import type { Connect } from './transport.js';

export const connectNode: Connect = (socketPath, frame, events) => {
  let done = false;
  const socket = createConnection({ path: socketPath });
  socket.on('connect', () => {
    if (done) return;
    socket.write(frame);
    events.connected();
  });
  socket.on('data', (chunk: Buffer) => {
    if (!done) events.data(chunk);
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (done) return;
    done = true;
    events.failed(err, typeof err.code === 'string' ? err.code : undefined);
  });
  socket.on('close', () => {
    if (done) return;
    done = true;
    events.closed();
  });
  return {
    destroy: () => {
      done = true;
      socket.destroy();
    },
  };
};
