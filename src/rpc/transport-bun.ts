/**
 * The RPC transport over Bun's socket API (`Bun.connect`), used when the plugin runs as the Bun
 * executable. Only the part of the API used here is typed; it is reached through `globalThis`.
 */
import type { Connect } from './transport.js';

interface BunSocket {
  /** Bytes accepted by the kernel, possibly fewer than given; the rest waits for `drain`. */
  write(data: Uint8Array): number;
  end(): void;
}

interface BunSocketHandler {
  open(socket: BunSocket): void;
  data(socket: BunSocket, chunk: Uint8Array): void;
  drain(socket: BunSocket): void;
  close(socket: BunSocket): void;
  error(socket: BunSocket, error: Error): void;
}

interface BunConnect {
  connect(options: { unix: string; socket: BunSocketHandler }): Promise<BunSocket>;
}

function errnoOf(error: unknown): string | undefined {
  const code: unknown = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

export const connectBun: Connect = (socketPath, frame, events) => {
  const bun = (globalThis as { Bun?: BunConnect }).Bun;
  let done = false;
  let socket: BunSocket | undefined;
  let unsent = frame;
  const fail = (error: Error): void => {
    if (done) return;
    done = true;
    events.failed(error, errnoOf(error));
  };
  const flush = (s: BunSocket): void => {
    if (unsent.length === 0) return;
    const written = s.write(unsent);
    unsent = unsent.subarray(Math.max(0, written));
  };
  if (bun === undefined) {
    queueMicrotask(() => fail(new Error('Bun.connect is not available in this runtime')));
    return {
      destroy: () => {
        done = true;
      },
    };
  }
  bun
    .connect({
      unix: socketPath,
      socket: {
        open(s) {
          socket = s;
          if (done) {
            s.end();
            return;
          }
          flush(s);
          events.connected();
        },
        data(_s, chunk) {
          if (!done) events.data(chunk);
        },
        drain(s) {
          if (!done) flush(s);
        },
        close() {
          if (done) return;
          done = true;
          events.closed();
        },
        error(_s, error) {
          fail(error);
        },
      },
    })
    .catch((error: unknown) => fail(error instanceof Error ? error : new Error(String(error))));
  return {
    destroy: () => {
      done = true;
      socket?.end();
    },
  };
};
