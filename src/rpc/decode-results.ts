/** Decoders for each method's `result`, used by the plugin and the CLI on the daemon's replies. */

import type {
  AddResult,
  CheckResult,
  DelResult,
  GcResult,
  MethodMap,
  RpcMethod,
  StatusResult,
  WarmPoolStatus,
} from './protocol.js';
import { Reader, fieldPath, type JsonObject } from './decode-reader.js';
import { MAX_MTU, MIN_MTU } from './validate.js';

export type ResultOf<M extends RpcMethod> = MethodMap[M]['result'];

const r = new Reader('InvalidResponse');
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const PREFIXED_ADDRESS = /^[0-9a-fA-F.:]+\/\d{1,3}$/;

const decoders: { readonly [M in RpcMethod]: (value: unknown) => ResultOf<M> } = {
  add: decodeAddResult,
  del: (value) => {
    r.object(value, 'result');
    return {} satisfies DelResult;
  },
  check: decodeCheckResult,
  gc: decodeGcResult,
  status: decodeStatusResult,
  exec: (value) => {
    const o = r.object(value, 'result');
    return { stdoutBase64: r.string(o['stdoutBase64'], 'result.stdoutBase64'), exitCode: r.integer(o['exitCode'], 'result.exitCode', 0, 255) };
  },
};

/** Decodes the `result` of a reply to `method`. Throws `DecodeError` (code `InvalidResponse`). */
export function decodeResult<M extends RpcMethod>(method: M, value: unknown): ResultOf<M> {
  return decoders[method](value);
}

function decodeAddResult(value: unknown): AddResult {
  const o = r.object(value, 'result');
  const host = r.object(o['hostInterface'], 'result.hostInterface');
  const pod = r.object(o['podInterface'], 'result.podInterface');
  return {
    address: r.string(o['address'], 'result.address', (s) =>
      PREFIXED_ADDRESS.test(s) ? undefined : `${JSON.stringify(s)} is not an address with a prefix length`,
    ),
    gateway: r.nonEmptyString(o['gateway'], 'result.gateway'),
    mtu: r.integer(o['mtu'], 'result.mtu', MIN_MTU, MAX_MTU),
    interfaceId: r.nonEmptyString(o['interfaceId'], 'result.interfaceId'),
    hostInterface: { name: r.nonEmptyString(host['name'], 'result.hostInterface.name'), mac: mac(host, 'result.hostInterface') },
    podInterface: {
      name: r.nonEmptyString(pod['name'], 'result.podInterface.name'),
      mac: mac(pod, 'result.podInterface'),
      sandbox: r.nonEmptyString(pod['sandbox'], 'result.podInterface.sandbox'),
    },
  };
}

function mac(o: JsonObject, parent: string): string {
  return r.string(o['mac'], fieldPath(parent, 'mac'), (s) => (MAC.test(s) ? undefined : `${JSON.stringify(s)} is not a MAC address`));
}

function decodeGcResult(value: unknown): GcResult {
  const o = r.object(value, 'result');
  const released = r.integer(o['released'], 'result.released', 0, Number.MAX_SAFE_INTEGER);
  if (o['removed'] === undefined) return { released };
  const removed = r.array(o['removed'], 'result.removed').map((item, i) => r.string(item, fieldPath('result.removed', i)));
  return { released, removed };
}

function decodeCheckResult(value: unknown): CheckResult {
  const o = r.object(value, 'result');
  const problems = r.array(o['problems'], 'result.problems').map((p, i) => r.string(p, fieldPath('result.problems', i)));
  return { ok: r.boolean(o['ok'], 'result.ok'), problems };
}

function count(o: JsonObject, key: string, parent: string): number {
  return r.integer(o[key], fieldPath(parent, key), 0, Number.MAX_SAFE_INTEGER);
}

function optionalString(o: JsonObject, key: string, parent: string): { [k: string]: string } {
  const value = o[key];
  return value === undefined ? {} : { [key]: r.string(value, fieldPath(parent, key)) };
}

function decodeWarmPool(value: unknown): WarmPoolStatus {
  const path = 'result.warmPool';
  const o = r.object(value, path);
  const arrivals = o['arrivalsPerMinute'];
  if (arrivals !== undefined && (typeof arrivals !== 'number' || !Number.isFinite(arrivals) || arrivals < 0)) {
    r.fail(fieldPath(path, 'arrivalsPerMinute'), 'must be a number ≥ 0');
  }
  return {
    policy: r.oneOf(o['policy'], fieldPath(path, 'policy'), ['adaptive', 'eni', 'ip', 'prefix'] as const),
    ...(o['low'] === undefined ? {} : { low: count(o, 'low', path) }),
    ...(o['high'] === undefined ? {} : { high: count(o, 'high', path) }),
    ...(o['burst'] === undefined ? {} : { burst: r.boolean(o['burst'], fieldPath(path, 'burst')) }),
    ...(typeof arrivals === 'number' ? { arrivalsPerMinute: arrivals } : {}),
    ...(o['startupFloor'] === undefined ? {} : { startupFloor: count(o, 'startupFloor', path) }),
    ...(o['knobs'] === undefined ? {} : { knobs: decodeKnobs(o['knobs'], fieldPath(path, 'knobs')) }),
  };
}

function decodeKnobs(value: unknown, path: string): Readonly<Record<string, number>> {
  const o = r.object(value, path);
  return Object.fromEntries(Object.keys(o).map((name) => [name, count(o, name, path)]));
}

function decodeGrow(value: unknown): { doing: string; forMs: number } {
  const path = 'result.grow';
  const o = r.object(value, path);
  return { doing: r.string(o['doing'], fieldPath(path, 'doing')), forMs: count(o, 'forMs', path) };
}

function decodeStatusResult(value: unknown): StatusResult {
  const o = r.object(value, 'result');
  const pool = r.object(o['pool'], 'result.pool');
  const interfaces = r.array(o['interfaces'], 'result.interfaces').map((item, i) => {
    const path = fieldPath('result.interfaces', i);
    const e = r.object(item, path);
    return {
      id: r.nonEmptyString(e['id'], fieldPath(path, 'id')),
      deviceIndex: count(e, 'deviceIndex', path),
      subnetId: r.string(e['subnetId'], fieldPath(path, 'subnetId')),
      addresses: count(e, 'addresses', path),
      assigned: count(e, 'assigned', path),
    };
  });
  const pods = r.array(o['pods'], 'result.pods').map((item, i) => {
    const path = fieldPath('result.pods', i);
    const e = r.object(item, path);
    return {
      networkName: r.string(e['networkName'], fieldPath(path, 'networkName')),
      containerId: r.string(e['containerId'], fieldPath(path, 'containerId')),
      ifName: r.string(e['ifName'], fieldPath(path, 'ifName')),
      ...(optionalString(e, 'podNamespace', path) as { podNamespace?: string }),
      ...(optionalString(e, 'podName', path) as { podName?: string }),
      address: r.string(e['address'], fieldPath(path, 'address')),
      interfaceId: r.string(e['interfaceId'], fieldPath(path, 'interfaceId')),
    };
  });
  const held =
    o['held'] === undefined
      ? undefined
      : r.array(o['held'], 'result.held').map((item, i) => {
          const path = fieldPath('result.held', i);
          const e = r.object(item, path);
          return {
            address: r.string(e['address'], fieldPath(path, 'address')),
            ...(optionalString(e, 'hostVeth', path) as { hostVeth?: string }),
            ...(optionalString(e, 'podNamespace', path) as { podNamespace?: string }),
            ...(optionalString(e, 'podName', path) as { podName?: string }),
            source: r.oneOf(e['source'], fieldPath(path, 'source'), ['kernel', 'api'] as const),
          };
        });
  return {
    ...(held === undefined ? {} : { held }),
    ...(optionalString(o, 'unsettled', 'result') as { unsettled?: string }),
    state: r.oneOf(o['state'], 'result.state', ['ready', 'growing', 'blocked'] as const),
    ...(optionalString(o, 'reason', 'result') as { reason?: string }),
    ...(o['grow'] === undefined ? {} : { grow: decodeGrow(o['grow']) }),
    cloud: r.string(o['cloud'], 'result.cloud'),
    instanceId: r.string(o['instanceId'], 'result.instanceId'),
    instanceType: r.string(o['instanceType'], 'result.instanceType'),
    ...(o['maxPods'] === undefined ? {} : { maxPods: count(o, 'maxPods', 'result') }),
    ...(o['warmPool'] === undefined ? {} : { warmPool: decodeWarmPool(o['warmPool']) }),
    pool: {
      total: count(pool, 'total', 'result.pool'),
      assigned: count(pool, 'assigned', 'result.pool'),
      available: count(pool, 'available', 'result.pool'),
      coolingDown: count(pool, 'coolingDown', 'result.pool'),
    },
    interfaces,
    pods,
  };
}
