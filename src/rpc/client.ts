/**
 * One-shot RPC client: connect, send one request, read one reply. Runs under Node and under Bun
 * (the plugin), each through its own socket API (transport.ts).
 */

import { DecodeError, VersionMismatchError, decodeResponse, decodeResult, type ResultOf } from './decode.js';
import { RpcCallError, rpcErrorBody } from './errors.js';
import { FrameDecoder, FrameError, encodeFrame } from './framing.js';
import { PROTOCOL_VERSION, type MethodMap, type RpcMethod, type RpcRequest } from './protocol.js';
import { defaultTransport, loadTransport, type Connect, type TransportConnection, type TransportName } from './transport.js';

export interface CallOptions {
  /** Deadline for the whole call (connect, send, reply). */
  readonly timeoutMs: number;
  /** Request id; a random positive integer when omitted. */
  readonly id?: number;
  /** Socket API: `bun` under Bun, `node` otherwise, unless given. */
  readonly transport?: TransportName;
}

const transports = new Map<TransportName, Promise<Connect>>();

function transportFor(name: TransportName): Promise<Connect> {
  let loaded = transports.get(name);
  if (loaded === undefined) {
    loaded = loadTransport(name);
    transports.set(name, loaded);
  }
  return loaded;
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

  return transportFor(options.transport ?? defaultTransport()).then((connect) => exchange(connect, socketPath, method, id, frame, options.timeoutMs));
}

function exchange<M extends RpcMethod>(connect: Connect, socketPath: string, method: M, id: number, frame: Uint8Array, timeoutMs: number): Promise<ResultOf<M>> {
  return new Promise<ResultOf<M>>((resolve, reject) => {
    let connected = false;
    let settled = false;
    const held: { connection?: TransportConnection } = {};
    const decoder = new FrameDecoder();
    const timer = setTimeout(() => {
      fail(new RpcCallError('timeout', `nativeip-ipamd at ${socketPath} did not answer ${method} within ${timeoutMs} ms`, { socketPath }));
    }, timeoutMs);

    const finish = (outcome: { error: RpcCallError } | { result: ResultOf<M> }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      held.connection?.destroy();
      if ('error' in outcome) reject(outcome.error);
      else resolve(outcome.result);
    };
    const fail = (error: RpcCallError): void => finish({ error });

    const connection = connect(socketPath, frame, {
      connected: () => {
        connected = true;
      },
      data: (chunk) => {
        let values: unknown[];
        try {
          values = decoder.push(chunk);
        } catch (err) {
          fail(protocolError(socketPath, method, err));
          return;
        }
        const [first] = values;
        if (values.length > 0) finish(interpret(first, socketPath, method, id));
      },
      failed: (err, errno) => {
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
      },
      closed: () => {
        fail(
          new RpcCallError(
            connected ? 'disconnected' : 'unreachable',
            connected
              ? `nativeip-ipamd at ${socketPath} closed the connection before answering ${method}`
              : `nativeip-ipamd is not reachable at ${socketPath}: the connection closed`,
            { socketPath },
          ),
        );
      },
    });
    held.connection = connection;
    // The transport may have reported synchronously, before `connection` was held.
    if (settled) connection.destroy();
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
    // Id 0: the daemon's answer about the connection itself (a bad frame, a socket limit).
    if ('error' in reply && reply.id === 0) {
      return { error: new RpcCallError('remote', reply.error.message, { socketPath, body: reply.error }) };
    }
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
