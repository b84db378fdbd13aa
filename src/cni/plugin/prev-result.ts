/**
 * The `prevResult` a runtime passes in a chain: decoded loosely (other plugins' fields are kept
 * verbatim), so ADD can append ours to it and CHECK can find what ADD reported for our interface.
 */

import { CNI_ERROR, CniError } from './cni-error.js';

type JsonObject = Readonly<Record<string, unknown>>;

export interface PrevIp extends JsonObject {
  readonly address: string;
  /** Index into `interfaces`, when the IP belongs to one. */
  readonly interface?: number;
}

export interface PrevResult {
  readonly interfaces: readonly JsonObject[];
  readonly ips: readonly PrevIp[];
  readonly routes: readonly JsonObject[];
  readonly dns: JsonObject;
}

/**
 * Decodes `prevResult`. Throws {@link CniError} code 7 naming the first field that is not what
 * the spec's result type says.
 */
export function decodePrevResult(value: unknown): PrevResult {
  const root = object(value, 'prevResult');
  const interfaces = list(root['interfaces'], 'prevResult.interfaces').map((item, i) => {
    const path = `prevResult.interfaces[${i}]`;
    const o = object(item, path);
    if (typeof o['name'] !== 'string' || o['name'] === '') fail(`${path}.name`, 'expected a non-empty string');
    return o;
  });
  const ips = list(root['ips'], 'prevResult.ips').map((item, i): PrevIp => {
    const path = `prevResult.ips[${i}]`;
    const o = object(item, path);
    const address = o['address'];
    if (typeof address !== 'string' || !/^[0-9a-fA-F.:]+\/\d{1,3}$/.test(address)) fail(`${path}.address`, 'expected an address with a prefix length');
    const index = o['interface'];
    if (index !== undefined && (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= interfaces.length)) {
      fail(`${path}.interface`, `expected an index into interfaces (0 to ${interfaces.length - 1})`);
    }
    return o as PrevIp;
  });
  const routes = list(root['routes'], 'prevResult.routes').map((item, i) => {
    const path = `prevResult.routes[${i}]`;
    const o = object(item, path);
    if (typeof o['dst'] !== 'string') fail(`${path}.dst`, 'expected a destination in CIDR notation');
    return o;
  });
  const dns = root['dns'] === undefined ? {} : object(root['dns'], 'prevResult.dns');
  return { interfaces, ips, routes, dns };
}

/** Where our pod interface sits in a previous result, and the addresses given to it. */
export interface OwnAttachment {
  readonly index: number;
  readonly addresses: readonly string[];
}

/**
 * Finds the sandbox interface named `ifName` in `netns` (what our ADD reported) and its
 * addresses; undefined when the result has no such interface.
 */
export function findAttachment(prev: PrevResult, ifName: string, netns: string): OwnAttachment | undefined {
  const index = prev.interfaces.findIndex((i) => i['name'] === ifName && i['sandbox'] === netns);
  if (index < 0) return undefined;
  return { index, addresses: prev.ips.filter((ip) => ip.interface === index).map((ip) => ip.address) };
}

function object(value: unknown, path: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'expected an object');
  return value as JsonObject;
}

function list(value: unknown, path: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(path, 'expected a list');
  return value as unknown[];
}

function fail(path: string, problem: string): never {
  throw new CniError(CNI_ERROR.InvalidNetworkConfig, `invalid network config: ${path}: ${problem}`);
}
