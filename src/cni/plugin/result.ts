/** Turning the daemon's ADD result into the CNI result JSON of the requested spec version. */

import type { AddResult } from '../../rpc/protocol.js';
import type { PrevResult } from './prev-result.js';
import { LATEST_VERSION, SUPPORTED_VERSIONS, ipsCarryVersion, type CniVersion } from './versions.js';

export interface CniInterface {
  readonly name: string;
  readonly mac: string;
  readonly sandbox?: string;
}

export interface CniIpConfig {
  /** Only in results before 1.0.0. */
  readonly version?: '4' | '6';
  readonly address: string;
  readonly gateway: string;
  /** Index into `interfaces`. */
  readonly interface: number;
}

type JsonObject = Readonly<Record<string, unknown>>;

export interface CniResult {
  readonly cniVersion: CniVersion;
  /** A previous plugin's interfaces (verbatim), then ours: host veth, pod interface. */
  readonly interfaces: readonly (CniInterface | JsonObject)[];
  readonly ips: readonly (CniIpConfig | JsonObject)[];
  readonly routes: readonly ({ readonly dst: string; readonly gw?: string } | JsonObject)[];
  readonly dns: JsonObject;
}

const EMPTY_PREV: PrevResult = { interfaces: [], ips: [], routes: [], dns: {} };

/**
 * The ADD result: what a plugin earlier in the chain reported (`prev`), with our interfaces, IP
 * and route appended; its DNS is kept. IPs are given the spec version's shape (`version` only
 * before 1.0.0).
 */
export function formatAddResult(cniVersion: CniVersion, result: AddResult, prev: PrevResult = EMPTY_PREV): CniResult {
  const family = result.address.includes(':') ? '6' : '4';
  const hostIndex = prev.interfaces.length;
  return {
    cniVersion,
    interfaces: [
      ...prev.interfaces,
      { name: result.hostInterface.name, mac: result.hostInterface.mac },
      { name: result.podInterface.name, mac: result.podInterface.mac, sandbox: result.podInterface.sandbox },
    ],
    ips: [
      ...prev.ips.map((ip) => ipShape(cniVersion, ip)),
      {
        ...(ipsCarryVersion(cniVersion) ? { version: family } : {}),
        address: result.address,
        gateway: result.gateway,
        interface: hostIndex + 1,
      },
    ],
    routes: [...prev.routes, { dst: family === '6' ? '::/0' : '0.0.0.0/0' }],
    dns: prev.dns,
  };
}

function ipShape(cniVersion: CniVersion, ip: JsonObject & { readonly address: string }): JsonObject {
  const { version, ...rest } = ip;
  if (!ipsCarryVersion(cniVersion)) return rest;
  return { version: typeof version === 'string' ? version : ip.address.includes(':') ? '6' : '4', ...rest };
}

export interface VersionResult {
  readonly cniVersion: CniVersion;
  readonly supportedVersions: readonly CniVersion[];
}

export function versionResult(): VersionResult {
  return { cniVersion: LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}
