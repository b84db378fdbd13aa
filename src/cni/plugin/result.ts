/** Turning the daemon's ADD result into the CNI result JSON of the requested spec version. */

import type { AddResult } from '../../rpc/protocol.js';
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

export interface CniResult {
  readonly cniVersion: CniVersion;
  readonly interfaces: readonly CniInterface[];
  readonly ips: readonly CniIpConfig[];
  readonly routes: readonly { readonly dst: string; readonly gw?: string }[];
  readonly dns: Record<string, never>;
}

/** Index of the pod-side interface in `interfaces` (the host veth is 0). */
const POD_INTERFACE_INDEX = 1;

export function formatAddResult(cniVersion: CniVersion, result: AddResult): CniResult {
  const family = result.address.includes(':') ? '6' : '4';
  return {
    cniVersion,
    interfaces: [
      { name: result.hostInterface.name, mac: result.hostInterface.mac },
      { name: result.podInterface.name, mac: result.podInterface.mac, sandbox: result.podInterface.sandbox },
    ],
    ips: [
      {
        ...(ipsCarryVersion(cniVersion) ? { version: family } : {}),
        address: result.address,
        gateway: result.gateway,
        interface: POD_INTERFACE_INDEX,
      },
    ],
    routes: [{ dst: family === '6' ? '::/0' : '0.0.0.0/0' }],
    dns: {},
  };
}

export interface VersionResult {
  readonly cniVersion: CniVersion;
  readonly supportedVersions: readonly CniVersion[];
}

export function versionResult(): VersionResult {
  return { cniVersion: LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}
