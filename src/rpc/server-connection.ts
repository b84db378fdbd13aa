/**
 * Serves one accepted connection of the daemon's RPC server: decodes request frames, runs the
 * handler per request (concurrently, up to `maxInFlight`), writes one reply per request.
 */

import type { Socket } from 'node:net';

import { decodeRequest, peekRequestId } from './decode.js';
import { rpcErrorBody, toRpcError } from './errors.js';
import { FrameDecoder, FrameError, encodeFrame } from './framing.js';
import { PROTOCOL_VERSION, type RpcErrorBody, type RpcRequest } from './protocol.js';

/** The subset of a pino logger this module uses. */
export interface ConnectionLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export type RequestHandler = (request: RpcRequest) => Promise<unknown>;

export interface ServeConnectionOptions {
  readonly logger?: ConnectionLogger;
  /** Requests handled at once on this connection; further frames wait (reading pauses). Default 32. */
  readonly maxInFlight?: number;
}

const DEFAULT_MAX_IN_FLIGHT = 32;

/**
 * Serves `socket` until it closes. Never throws and never rejects: a handler error becomes an
 * error reply (see `toRpcError`), an invalid request an `InvalidRequest` or `VersionMismatch`
 * reply, and an undecodable frame one `BadFrame` reply with id 0, after which the connection is
 * closed once the requests before it have been answered.
 *
 * Create the server with `allowHalfOpen: true` so a peer that shuts down its sending side after
 * the request still gets its reply; this function ends the connection once it has answered.
 *
 * @returns a promise that settles when the socket has closed and every handler has finished.
 */
export function serveConnection(
  socket: Socket,
  handler: RequestHandler,
  options: ServeConnectionOptions = {},
): Promise<void> {
  const logger = options.logger;
  const maxInFlight = Math.max(1, options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
  const decoder = new FrameDecoder();
  const queue: unknown[] = [];
  let inFlight = 0;
  let stopReading = false;
  let peerEnded = false;
  let closed = false;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });

  const reply = (id: number, payload: { result: unknown } | { error: RpcErrorBody }): void => {
    if (socket.destroyed || !socket.writable) {
      logger?.debug({ id }, 'rpc reply dropped: connection already closed');
      return;
    }
    let frame: Buffer;
    try {
      frame = encodeFrame({ v: PROTOCOL_VERSION, id, ...payload });
    } catch (err) {
      const message = `the reply could not be encoded: ${err instanceof Error ? err.message : String(err)}`;
      logger?.error({ id, err }, 'rpc reply could not be encoded');
      frame = encodeFrame({ v: PROTOCOL_VERSION, id, error: rpcErrorBody('Internal', message) });
    }
    socket.write(frame);
  };

  const finishIfIdle = (): void => {
    if (inFlight > 0 || queue.length > 0) return;
    if (closed) {
      resolveDone();
      return;
    }
    if (socket.writableEnded) return;
    if (stopReading) socket.end(() => socket.destroy());
    else if (peerEnded) socket.end();
  };

  const run = (value: unknown): void => {
    const id = peekRequestId(value);
    let request: RpcRequest;
    try {
      request = decodeRequest(value);
    } catch (err) {
      const error = toRpcError(err);
      logger?.warn({ id, code: error.code, reason: error.message }, 'rpc request rejected');
      reply(id, { error });
      return;
    }
    inFlight += 1;
    invoke(handler, request)
      .then(
        (result) => reply(id, { result: result ?? null }),
        (err: unknown) => {
          const error = toRpcError(err);
          if (error.code === 'Internal') logger?.error({ id, method: request.method, err }, 'rpc handler failed');
          reply(id, { error });
        },
      )
      .finally(() => {
        inFlight -= 1;
        pump();
      });
  };

  const pump = (): void => {
    while (queue.length > 0 && inFlight < maxInFlight) run(queue.shift());
    if (!stopReading && !closed) {
      if (queue.length > 0) socket.pause();
      else if (socket.isPaused()) socket.resume();
    }
    finishIfIdle();
  };

  socket.on('data', (chunk: Buffer) => {
    if (stopReading) return;
    try {
      queue.push(...decoder.push(chunk));
    } catch (err) {
      stopReading = true;
      socket.pause();
      const frameError = err instanceof FrameError ? err : new FrameError(String(err));
      queue.push(...frameError.decodedBefore);
      logger?.warn({ reason: frameError.message }, 'rpc connection sent an undecodable frame; closing it');
      reply(0, { error: toRpcError(frameError) });
    }
    pump();
  });
  socket.on('end', () => {
    peerEnded = true;
    if (decoder.hasPartialFrame && !stopReading) {
      logger?.debug({ bufferedBytes: decoder.bufferedBytes }, 'rpc peer ended the connection mid-frame');
    }
    finishIfIdle();
  });
  socket.on('error', (err) => {
    logger?.debug({ err }, 'rpc connection error');
  });
  socket.on('close', () => {
    closed = true;
    queue.length = 0;
    finishIfIdle();
  });

  return done;
}

function invoke(handler: RequestHandler, request: RpcRequest): Promise<unknown> {
  try {
    return handler(request);
  } catch (err) {
    return Promise.reject(err);
  }
}
