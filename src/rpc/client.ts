/** One-shot RPC client: connect, send one request, read one reply. Node built-ins only. */

import { createConnection } from 'node:net';

import { DecodeError, VersionMismatchError, decodeResponse, decodeResult, type ResultOf } from './decode.js';
import { RpcCallError, rpcErrorBody } from './errors.js';
import { FrameDecoder, FrameError, encodeFrame } from './framing.js';
import { PROTOCOL_VERSION, type MethodMap, type RpcMethod, type RpcRequest } from './protocol.js';

export interface CallOptions {
  /** Deadline for the whole call (connect, send, reply). */
  readonly timeoutMs: number;
  /** Request id; a random positive integer when omitted. */
  readonly id?: number;
}

const CONNECT_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: 'the socket does not exist (ENOENT)',
  ECONNREFUSED: 'connection refused (ECONNREFUSED)',
  EACCES: 'permission denied (EACCES)',
  ENOTSOCK: 'the path is not a socket (ENOTSOCK)',
  EAGAIN: 'the daemon is not accepting connections (EAGAIN)',
};

/**
 * Calls `method` on the daemon at `socketPath` and returns its decoded result.
 * Rejects with {@link RpcCallError}: `kind` says whether the daemon replied with an error
 * (`remote`, with its body), could not be reached (`unreachable`), timed out, hung up, or sent a
 * reply that does not decode (`protocol`).
 */
export function callDaemon<M extends RpcMethod>(
  socketPath: string,
  method: M,
  params: MethodMap[M]['params'],
  options: CallOptions,
): Promise<ResultOf<M>> {
  const id = options.id ?? Math.floor(Math.random() * 0x7fff_ffff) + 1;
  const request: RpcRequest<M> = { v: PROTOCOL_VERSION, id, method, params };
  let frame: Buffer;
  try {
    frame = encodeFrame(request);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return Promise.reject(
      new RpcCallError('protocol', `cannot encode the ${method} request: ${message}`, { socketPath, cause: err }),
    );
  }

  return new Promise<ResultOf<M>>((resolve, reject) => {
    let connected = false;
    let settled = false;
    const decoder = new FrameDecoder();
    const socket = createConnection({ path: socketPath });
    const timer = setTimeout(() => {
      fail(
        new RpcCallError(
          'timeout',
          `nativeip-ipamd at ${socketPath} did not answer ${method} within ${options.timeoutMs} ms`,
          { socketPath },
        ),
      );
    }, options.timeoutMs);

    const finish = (outcome: { error: RpcCallError } | { result: ResultOf<M> }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if ('error' in outcome) reject(outcome.error);
      else resolve(outcome.result);
    };
    const fail = (error: RpcCallError): void => finish({ error });

    socket.on('connect', () => {
      connected = true;
      socket.write(frame);
    });
    socket.on('data', (chunk: Buffer) => {
      let values: unknown[];
      try {
        values = decoder.push(chunk);
      } catch (err) {
        fail(protocolError(socketPath, method, err));
        return;
      }
      const [first] = values;
      if (values.length > 0) finish(interpret(first, socketPath, method, id));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const errno = typeof err.code === 'string' ? err.code : undefined;
      if (!connected) {
        const reason = (errno !== undefined ? CONNECT_FAILURES[errno] : undefined) ?? err.message;
        fail(
          new RpcCallError('unreachable', `nativeip-ipamd is not reachable at ${socketPath}: ${reason}`, {
            socketPath,
            cause: err,
            ...(errno === undefined ? {} : { errno }),
          }),
        );
        return;
      }
      fail(
        new RpcCallError('disconnected', `connection to nativeip-ipamd at ${socketPath} failed during ${method}: ${err.message}`, {
          socketPath,
          cause: err,
          ...(errno === undefined ? {} : { errno }),
        }),
      );
    });
    socket.on('close', () => {
      fail(
        new RpcCallError(
          connected ? 'disconnected' : 'unreachable',
          connected
            ? `nativeip-ipamd at ${socketPath} closed the connection before answering ${method}`
            : `nativeip-ipamd is not reachable at ${socketPath}: the connection closed`,
          { socketPath },
        ),
      );
    });
  });
}

function interpret<M extends RpcMethod>(
  value: unknown,
  socketPath: string,
  method: M,
  id: number,
): { error: RpcCallError } | { result: ResultOf<M> } {
  try {
    const reply = decodeResponse(value);
    if (reply.id !== id) {
      return {
        error: new RpcCallError('protocol', `nativeip-ipamd answered request id ${reply.id}, expected ${id}`, {
          socketPath,
          body: rpcErrorBody('BadFrame', `reply id ${reply.id} does not match request id ${id}`),
        }),
      };
    }
    if ('error' in reply) {
      return { error: new RpcCallError('remote', reply.error.message, { socketPath, body: reply.error }) };
    }
    return { result: decodeResult(method, reply.result) };
  } catch (err) {
    return { error: protocolError(socketPath, method, err) };
  }
}

function protocolError(socketPath: string, method: RpcMethod, err: unknown): RpcCallError {
  const detail = err instanceof Error ? err.message : String(err);
  const message = `nativeip-ipamd at ${socketPath} sent an invalid reply to ${method}: ${detail}`;
  if (err instanceof VersionMismatchError) {
    return new RpcCallError('protocol', message, { socketPath, cause: err, body: rpcErrorBody('VersionMismatch', message) });
  }
  if (err instanceof FrameError || err instanceof DecodeError) {
    return new RpcCallError('protocol', message, { socketPath, cause: err, body: rpcErrorBody('BadFrame', message) });
  }
  return new RpcCallError('protocol', message, { socketPath, cause: err, body: rpcErrorBody('Internal', message) });
}
