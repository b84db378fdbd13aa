/**
 * Serves one accepted connection of the daemon's RPC server: decodes request frames, runs the
 * handler per request (concurrently, up to `maxInFlight`), writes one reply per request, in
 * request order. Enforces the per-connection socket limits (socket-limits.ts).
 */

import type { Socket } from 'node:net';

import { ConnectionDeadline, type DeadlineKind } from './connection-deadline.js';
import { decodeRequest, peekRequestId } from './decode.js';
import { endConnection } from './end-connection.js';
import { rpcErrorBody, toRpcError } from './errors.js';
import { FrameBudgetError, type FrameBudget } from './frame-budget.js';
import { FrameDecoder, FrameError, encodeFrame } from './framing.js';
import { FrameRefusal } from './frame-refusal.js';
import { PROTOCOL_VERSION, type RpcErrorBody, type RpcRequest } from './protocol.js';
import { ReplySequencer } from './reply-sequencer.js';
import { DEFAULT_SOCKET_LIMITS } from './socket-limits.js';

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
  /**
   * Shared by all connections of one server: bytes of partly received frames they may hold
   * together. Absent: no shared limit (each connection still holds at most one frame).
   */
  readonly frameBudget?: FrameBudget;
  /** Largest frame accepted. Default MAX_FRAME_BYTES. */
  readonly maxFrameBytes?: number;
  /** See {@link SocketLimits}; defaults in DEFAULT_SOCKET_LIMITS. */
  readonly idleTimeoutMs?: number;
  readonly frameTimeoutMs?: number;
  readonly closeGraceMs?: number;
  readonly maxReplyBacklogBytes?: number;
}

const DEFAULT_MAX_IN_FLIGHT = 32;

type Reply = { result: unknown } | { error: RpcErrorBody };

/**
 * Serves `socket` until it closes. Never throws and never rejects: a handler error becomes an
 * error reply (see `toRpcError`), an invalid request an `InvalidRequest` or `VersionMismatch`
 * reply. Replies are written in the order of the requests, whatever order they finish in.
 *
 * The connection is closed, after the replies to the requests before it, with one reply of id 0:
 * `BadFrame` for an undecodable frame; `ConnectionLimit` for a frame the shared `frameBudget`
 * has no room for (refused, not buffered) or a frame not completed within `frameTimeoutMs`.
 * A connection with nothing in flight and no bytes for `idleTimeoutMs` gets a `ConnectionLimit`
 * notice and is closed too. A peer that does not read its replies gets none of its further
 * requests started; once the replies the kernel would not take pass `maxReplyBacklogBytes`, or
 * the shared `frameBudget`, or stay unread for `frameTimeoutMs`, the connection is destroyed
 * (nothing more can reach that peer). Closing stops reading, ends the daemon's side and destroys the
 * socket once the last reply reached the kernel (at most `closeGraceMs` later; end-connection.ts).
 *
 * Create the server with `allowHalfOpen: true` so a peer that shuts down its sending side after
 * the request still gets its reply; this function ends the connection once it has answered.
 *
 * @returns a promise that settles when the socket has closed and every handler has finished.
 */
export function serveConnection(socket: Socket, handler: RequestHandler, options: ServeConnectionOptions = {}): Promise<void> {
  const logger = options.logger;
  const maxInFlight = Math.max(1, options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_SOCKET_LIMITS.idleTimeoutMs;
  const frameTimeoutMs = options.frameTimeoutMs ?? DEFAULT_SOCKET_LIMITS.frameTimeoutMs;
  const closeGraceMs = options.closeGraceMs ?? DEFAULT_SOCKET_LIMITS.closeGraceMs;
  const maxReplyBacklogBytes = options.maxReplyBacklogBytes ?? DEFAULT_SOCKET_LIMITS.maxReplyBacklogBytes;
  const decoder = new FrameDecoder({
    maxFrameBytes: options.maxFrameBytes ?? DEFAULT_SOCKET_LIMITS.maxFrameBytes,
    ...(options.frameBudget === undefined ? {} : { budget: options.frameBudget }),
  });
  const queue: { slot: number; value: unknown }[] = [];
  const replies = new ReplySequencer<Buffer>();
  let inFlight = 0;
  /** No more requests are read: a last error reply is queued, then the connection is closed. */
  let giveUp = false;
  let ending = false;
  let writeBlocked = false;
  let peerEnded = false;
  let closed = false;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });

  /** Reply bytes the kernel would not take, held for this peer and reserved in the shared budget. */
  let heldReplyBytes = 0;
  const releaseHeldReplies = (): void => {
    options.frameBudget?.release(heldReplyBytes);
    heldReplyBytes = 0;
  };
  /** Closes a peer that does not read its replies; nothing more can reach it, so no last frame. */
  const dropUnreadPeer = (why: string): void => {
    logger?.warn({ heldReplyBytes: socket.writableLength }, `rpc peer does not read its replies (${why}); closing the connection`);
    releaseHeldReplies();
    socket.destroy();
  };

  const write = (frame: Buffer): void => {
    if (socket.destroyed || !socket.writable) {
      logger?.debug({}, 'rpc reply dropped: connection already closed');
      return;
    }
    const accepted = socket.write(frame);
    if (accepted) return;
    // The kernel's buffer for this peer is full: what it would not take is held here, within the
    // per-connection and the shared limits.
    const held = socket.writableLength;
    if (held > maxReplyBacklogBytes) return dropUnreadPeer(`${held} reply bytes held, over ${maxReplyBacklogBytes}`);
    if (held > heldReplyBytes) {
      if (options.frameBudget !== undefined && !options.frameBudget.tryReserve(held - heldReplyBytes)) {
        return dropUnreadPeer('the shared buffer budget is exhausted');
      }
      heldReplyBytes = held;
    }
    if (!writeBlocked) {
      // The peer is not reading its replies: start none of its requests, and read none, until it does.
      writeBlocked = true;
      socket.once('drain', () => {
        writeBlocked = false;
        releaseHeldReplies();
        pump();
      });
    }
  };

  const reply = (slot: number, id: number, payload: Reply): void => {
    let frame: Buffer;
    try {
      frame = encodeFrame({ v: PROTOCOL_VERSION, id, ...payload });
    } catch (err) {
      const message = `the reply could not be encoded: ${err instanceof Error ? err.message : String(err)}`;
      logger?.error({ id, err }, 'rpc reply could not be encoded');
      frame = encodeFrame({ v: PROTOCOL_VERSION, id, error: rpcErrorBody('Internal', message) });
    }
    for (const ready of replies.fill(slot, frame)) write(ready);
  };

  const enqueue = (values: readonly unknown[]): void => {
    for (const value of values) queue.push({ slot: replies.reserve(), value });
  };

  /** Stops reading requests; `error` is the last reply, after those to the requests before it. */
  const stop = (error: RpcErrorBody): void => {
    if (giveUp) return;
    giveUp = true;
    decoder.dispose();
    deadline.clear();
    reply(replies.reserve(), 0, { error });
  };

  const deadline = new ConnectionDeadline((kind: DeadlineKind, afterMs: number) => {
    if (closed || giveUp) return;
    if (kind === 'reply') {
      dropUnreadPeer(`replies not read within ${afterMs} ms`);
      return;
    }
    if (kind === 'frame') {
      const expected = decoder.expectedBytes;
      const message =
        expected === undefined
          ? `no complete frame header within ${afterMs} ms; closing the connection`
          : `frame of ${expected} bytes not completed within ${afterMs} ms (${decoder.bufferedBytes} bytes received); closing the connection`;
      logger?.warn({ expectedBytes: expected, bufferedBytes: decoder.bufferedBytes, frameTimeoutMs: afterMs }, 'rpc frame incomplete in time; closing the connection');
      stop(rpcErrorBody('ConnectionLimit', message));
    } else {
      logger?.debug({ idleTimeoutMs: afterMs }, 'rpc connection idle; closing it');
      stop(rpcErrorBody('ConnectionLimit', `no request on this connection for ${afterMs} ms; closing it`));
    }
    pump();
  });

  const run = (slot: number, value: unknown): void => {
    const id = peekRequestId(value);
    let request: RpcRequest;
    try {
      request = decodeRequest(value);
    } catch (err) {
      const error = toRpcError(err);
      logger?.warn({ id, code: error.code, reason: error.message }, 'rpc request rejected');
      reply(slot, id, { error });
      return;
    }
    inFlight += 1;
    invoke(handler, request)
      .then(
        (result) => reply(slot, id, { result: result ?? null }),
        (err: unknown) => {
          const error = toRpcError(err);
          if (error.code === 'Internal') logger?.error({ id, method: request.method, err }, 'rpc handler failed');
          reply(slot, id, { error });
        },
      )
      .finally(() => {
        inFlight -= 1;
        pump();
      });
  };

  /** Starts queued requests, then decides reading, timers and closing from the state. */
  const pump = (): void => {
    while (queue.length > 0 && inFlight < maxInFlight && !writeBlocked) {
      const next = queue.shift();
      if (next !== undefined) run(next.slot, next.value);
    }
    if (closed) {
      deadline.clear();
      if (inFlight === 0) resolveDone();
      return;
    }
    if (ending) return;
    const answered = inFlight === 0 && queue.length === 0 && replies.pending === 0;
    if (giveUp) {
      socket.pause();
      if (answered) {
        ending = true;
        endConnection(socket, closeGraceMs);
      }
      return;
    }
    if (queue.length > 0 || writeBlocked) socket.pause();
    else if (socket.isPaused()) socket.resume();
    if (writeBlocked) {
      if (deadline.kind !== 'reply') deadline.arm('reply', frameTimeoutMs);
    } else if (decoder.hasPartialFrame) {
      if (deadline.kind !== 'frame') deadline.arm('frame', frameTimeoutMs);
    } else if (answered) {
      if (peerEnded) {
        deadline.clear();
        if (!socket.writableEnded) socket.end();
      } else if (deadline.kind !== 'idle') {
        deadline.arm('idle', idleTimeoutMs);
      }
    } else {
      deadline.clear();
    }
  };

  socket.on('data', (chunk: Buffer) => {
    if (giveUp || closed) return;
    const wasPartial = decoder.hasPartialFrame;
    // Bytes arrived: whatever limit was running restarts from here if it still applies.
    if (deadline.kind === 'idle') deadline.clear();
    try {
      const values = decoder.push(chunk);
      enqueue(values);
      // A frame completed and another began in this chunk: the new frame gets its own time.
      if (wasPartial && values.length > 0 && decoder.hasPartialFrame) deadline.clear();
    } catch (err) {
      const failure = err instanceof FrameRefusal ? err : new FrameError(String(err));
      enqueue(failure.decodedBefore);
      if (failure instanceof FrameBudgetError) {
        logger?.warn({ reason: failure.message }, 'rpc frame refused: partial-frame buffer budget exhausted; closing the connection');
      } else {
        logger?.warn({ reason: failure.message }, 'rpc connection sent an undecodable frame; closing it');
      }
      stop(toRpcError(failure));
    }
    pump();
  });
  socket.on('end', () => {
    peerEnded = true;
    if (decoder.hasPartialFrame && !giveUp) {
      logger?.debug({ bufferedBytes: decoder.bufferedBytes }, 'rpc peer ended the connection mid-frame');
      decoder.dispose();
    }
    pump();
  });
  socket.on('error', (err) => {
    logger?.debug({ err }, 'rpc connection error');
  });
  socket.on('close', () => {
    closed = true;
    releaseHeldReplies();
    queue.length = 0;
    decoder.dispose();
    pump();
  });

  pump();
  return done;
}

function invoke(handler: RequestHandler, request: RpcRequest): Promise<unknown> {
  try {
    return handler(request);
  } catch (err) {
    return Promise.reject(err);
  }
}
