/**
 * Decoders from `unknown` (a decoded frame) to the typed shapes of protocol.ts. The daemon decodes
 * requests, the plugin and CLI decode responses. Unknown extra keys are ignored.
 */

import {
  PROTOCOL_VERSION,
  RPC_ERROR_CODES,
  type AddParams,
  type CheckParams,
  type DelParams,
  type ExecParams,
  type GcParams,
  type RpcErrorBody,
  type RpcErrorCode,
  type RpcMethod,
  type RpcRequest,
  type RpcResponse,
  type StatusParams,
} from './protocol.js';
import { Reader, fieldPath, type JsonObject } from './decode-reader.js';
import {
  MAX_MTU,
  MIN_MTU,
  containerIdProblem,
  ifNameProblem,
  netnsProblem,
  networkNameProblem,
  podRefProblem,
} from './validate.js';

export { DecodeError } from './decode-reader.js';
export { decodeResult, type ResultOf } from './decode-results.js';

export const RPC_METHODS: readonly RpcMethod[] = ['add', 'del', 'check', 'gc', 'status', 'exec'];

/** The peer speaks another protocol version. */
export class VersionMismatchError extends Error {
  override readonly name = 'VersionMismatchError';
  readonly code = 'VersionMismatch' as const;
  readonly rpcCode = 'VersionMismatch' as const;
  readonly retryable = false;

  constructor(
    readonly peerVersion: unknown,
    readonly ownVersion: number,
    what: 'request' | 'response',
  ) {
    super(
      `protocol version mismatch: the ${what} has v=${JSON.stringify(peerVersion)}, ` +
        `this ${what === 'request' ? 'daemon' : 'client'} speaks v=${ownVersion}`,
    );
  }
}

const request = new Reader('InvalidRequest');
const response = new Reader('InvalidResponse');

const MAX_ID = Number.MAX_SAFE_INTEGER;

/**
 * Decodes a request frame. Throws `DecodeError` (code `InvalidRequest`, naming the field) or
 * {@link VersionMismatchError} when `v` is not {@link PROTOCOL_VERSION}.
 */
export function decodeRequest(value: unknown): RpcRequest {
  const frame = request.object(value, '');
  const id = request.integer(frame['id'], 'id', 0, MAX_ID);
  if (frame['v'] !== PROTOCOL_VERSION) throw new VersionMismatchError(frame['v'], PROTOCOL_VERSION, 'request');
  const method = request.oneOf(frame['method'], 'method', RPC_METHODS);
  const params = request.object(frame['params'], 'params');
  switch (method) {
    case 'add':
      return { v: PROTOCOL_VERSION, id, method, params: decodeAddParams(params) };
    case 'check':
      return { v: PROTOCOL_VERSION, id, method, params: decodeCheckParams(params) };
    case 'del':
      return { v: PROTOCOL_VERSION, id, method, params: decodeDelParams(params) };
    case 'gc':
      return { v: PROTOCOL_VERSION, id, method, params: decodeGcParams(params) };
    case 'status':
      return { v: PROTOCOL_VERSION, id, method, params: {} satisfies StatusParams };
    case 'exec':
      return { v: PROTOCOL_VERSION, id, method, params: decodeExecParams(params) };
  }
}

const CNI_VARIABLE = /^CNI_[A-Z_]{1,32}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeExecParams(params: JsonObject): ExecParams {
  const env = request.object(params['env'], 'params.env');
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!CNI_VARIABLE.test(name)) request.fail(`params.env.${name}`, 'only CNI_* variables are forwarded');
    decoded[name] = request.string(value, `params.env.${name}`);
  }
  const stdinBase64 = request.string(params['stdinBase64'], 'params.stdinBase64', (s) => (BASE64.test(s) ? undefined : 'not base64'));
  return { env: decoded, stdinBase64 };
}

/**
 * The id of a request that may not decode, so an error reply can still carry it; 0 when absent.
 */
export function peekRequestId(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const id = (value as JsonObject)['id'];
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : 0;
}

/**
 * Decodes a response frame's envelope; `result` stays `unknown` (see `decodeResult`).
 * Throws `DecodeError` (code `InvalidResponse`) or {@link VersionMismatchError}.
 */
export function decodeResponse(value: unknown): RpcResponse<unknown> {
  const frame = response.object(value, '');
  const id = response.integer(frame['id'], 'id', 0, MAX_ID);
  if (frame['v'] !== PROTOCOL_VERSION) throw new VersionMismatchError(frame['v'], PROTOCOL_VERSION, 'response');
  const hasError = frame['error'] !== undefined;
  const hasResult = 'result' in frame;
  if (hasError === hasResult) response.fail('', 'expected exactly one of "result" and "error"');
  if (hasError) return { v: PROTOCOL_VERSION, id, error: decodeErrorBody(frame['error'], 'error') };
  return { v: PROTOCOL_VERSION, id, result: frame['result'] };
}

/**
 * Decodes an error body. A code this side does not know (a newer daemon) becomes `Internal`,
 * keeping the peer's CNI code and message, so the plugin can still report it faithfully.
 */
export function decodeErrorBody(value: unknown, field: string): RpcErrorBody {
  const body = response.object(value, field);
  const rawCode = response.nonEmptyString(body['code'], fieldPath(field, 'code'));
  const code: RpcErrorCode = isRpcErrorCode(rawCode) ? rawCode : 'Internal';
  const message = response.string(body['message'], fieldPath(field, 'message'));
  return {
    code,
    cniCode: response.integer(body['cniCode'], fieldPath(field, 'cniCode'), 0, 0xffff),
    message: code === rawCode ? message : `${rawCode}: ${message}`,
    retryable: response.boolean(body['retryable'], fieldPath(field, 'retryable')),
  };
}

export function isRpcErrorCode(code: string): code is RpcErrorCode {
  return Object.hasOwn(RPC_ERROR_CODES, code);
}

function decodeAddParams(params: JsonObject): AddParams {
  const netns = request.nonEmptyString(params['netns'], 'params.netns', netnsProblem);
  const mtu = params['mtu'] === undefined ? undefined : request.integer(params['mtu'], 'params.mtu', MIN_MTU, MAX_MTU);
  return {
    ...decodeKeyAndPod(params),
    netns,
    ...(mtu === undefined ? {} : { mtu }),
  };
}

function decodeCheckParams(params: JsonObject): CheckParams {
  const raw = params['prevAddresses'];
  if (raw === undefined) return decodeAddParams(params);
  const prevAddresses = request
    .array(raw, 'params.prevAddresses')
    .map((a, i) => request.nonEmptyString(a, fieldPath('params.prevAddresses', i)));
  return { ...decodeAddParams(params), prevAddresses };
}

function decodeDelParams(params: JsonObject): DelParams {
  const raw = params['netns'];
  const netns = raw === undefined || raw === '' ? undefined : request.string(raw, 'params.netns', netnsProblem);
  return { ...decodeKeyAndPod(params), ...(netns === undefined ? {} : { netns }) };
}

function decodeKeyAndPod(params: JsonObject): Omit<DelParams, 'netns'> {
  const podNamespace = optionalPodRef(params, 'podNamespace');
  const podName = optionalPodRef(params, 'podName');
  return {
    networkName: request.nonEmptyString(params['networkName'], 'params.networkName', networkNameProblem),
    containerId: request.nonEmptyString(params['containerId'], 'params.containerId', containerIdProblem),
    ifName: request.nonEmptyString(params['ifName'], 'params.ifName', ifNameProblem),
    ...(podNamespace === undefined ? {} : { podNamespace }),
    ...(podName === undefined ? {} : { podName }),
  };
}

function optionalPodRef(params: JsonObject, key: 'podNamespace' | 'podName'): string | undefined {
  const value = params[key];
  return value === undefined ? undefined : request.nonEmptyString(value, `params.${key}`, podRefProblem);
}

function decodeGcParams(params: JsonObject): GcParams {
  const networkName = request.nonEmptyString(params['networkName'], 'params.networkName', networkNameProblem);
  const list = request.array(params['validAttachments'], 'params.validAttachments');
  const validAttachments = list.map((item, i) => {
    const path = fieldPath('params.validAttachments', i);
    const entry = request.object(item, path);
    return {
      containerId: request.nonEmptyString(entry['containerId'], fieldPath(path, 'containerId'), containerIdProblem),
      ifName: request.nonEmptyString(entry['ifName'], fieldPath(path, 'ifName'), ifNameProblem),
    };
  });
  return { networkName, validAttachments };
}
