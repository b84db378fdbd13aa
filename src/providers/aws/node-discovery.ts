/**
 * Reads the node's facts from IMDS: identity, and per attached MAC the interface, subnet, VPC
 * CIDRs and security groups; and, for the reconciler, each interface's addresses and prefixes.
 * IMDS lags EC2 by a second or two after a change, so the pool's own changes come from EC2's
 * answers; IMDS only tells the reconciler whether anything changed behind its back.
 */
import { ImdsError } from './error-mapping.js';
import type { ImdsApi } from './imds-api.js';

const META = '/latest/meta-data';

export interface ImdsIdentity {
  readonly instanceId: string;
  readonly instanceType: string;
  /** The primary interface's MAC, lower case. */
  readonly primaryMac: string;
  readonly localIpv4: string;
  readonly region: string;
}

export interface ImdsMacFacts {
  readonly mac: string;
  readonly deviceIndex: number;
  readonly interfaceId: string;
  readonly subnetId: string;
  readonly subnetCidr: string;
  readonly localIpv4s: readonly string[];
  readonly vpcCidrs: readonly string[];
  readonly securityGroupIds: readonly string[];
}

/** Reads the instance's identity. `region` is read from IMDS only when not given. */
export async function readIdentity(imds: ImdsApi, region: string | undefined): Promise<ImdsIdentity> {
  const [instanceId, instanceType, mac, localIpv4, placementRegion] = await Promise.all([
    imds.get(`${META}/instance-id`),
    imds.get(`${META}/instance-type`),
    imds.get(`${META}/mac`),
    imds.get(`${META}/local-ipv4`),
    region === undefined ? imds.get(`${META}/placement/region`) : Promise.resolve(region),
  ]);
  return { instanceId, instanceType, primaryMac: mac.toLowerCase(), localIpv4, region: placementRegion };
}

/** Lists the MACs of the attached interfaces (lower case, without the trailing `/`). */
export async function listMacs(imds: ImdsApi): Promise<string[]> {
  const lines = await imds.getLines(`${META}/network/interfaces/macs/`);
  return lines.map((line) => line.replace(/\/+$/, '').toLowerCase());
}

function parseDeviceNumber(mac: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`IMDS macs/${mac}/device-number is not a device index: ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Reads one MAC's subtree. */
export async function readMacFacts(imds: ImdsApi, mac: string): Promise<ImdsMacFacts> {
  const base = `${META}/network/interfaces/macs/${mac}`;
  const [deviceNumber, interfaceId, subnetId, subnetCidr, localIpv4s, vpcCidrs, securityGroupIds] =
    await Promise.all([
      imds.get(`${base}/device-number`),
      imds.get(`${base}/interface-id`),
      imds.get(`${base}/subnet-id`),
      imds.get(`${base}/subnet-ipv4-cidr-block`),
      imds.getLines(`${base}/local-ipv4s`),
      imds.getLines(`${base}/vpc-ipv4-cidr-blocks`),
      imds.getLines(`${base}/security-group-ids`),
    ]);
  return {
    mac,
    deviceIndex: parseDeviceNumber(mac, deviceNumber),
    interfaceId,
    subnetId,
    subnetCidr,
    localIpv4s,
    vpcCidrs,
    securityGroupIds,
  };
}

/** Re-reads the VPC's CIDR blocks (a VPC can gain blocks while the node runs). */
export function readVpcCidrs(imds: ImdsApi, mac: string): Promise<string[]> {
  return imds.getLines(`${META}/network/interfaces/macs/${mac}/vpc-ipv4-cidr-blocks`);
}

/** One attached interface's addresses as IMDS shows them. */
export interface ImdsMacAddresses {
  readonly mac: string;
  readonly deviceIndex: number;
  readonly interfaceId: string;
  /** `local-ipv4s`: every IPv4 address of the interface, its primary first. */
  readonly localIpv4s: readonly string[];
  /** `ipv4-prefix`: delegated /28 prefixes; IMDS has no such key (404) when there are none. */
  readonly ipv4Prefixes: readonly string[];
}

/** Reads the address part of one MAC's subtree: four GETs, no EC2 call. */
export async function readMacAddresses(imds: ImdsApi, mac: string): Promise<ImdsMacAddresses> {
  const base = `${META}/network/interfaces/macs/${mac}`;
  const [deviceNumber, interfaceId, localIpv4s, ipv4Prefixes] = await Promise.all([
    imds.get(`${base}/device-number`),
    imds.get(`${base}/interface-id`),
    imds.getLines(`${base}/local-ipv4s`),
    linesOrNone(imds, `${base}/ipv4-prefix`),
  ]);
  return { mac, deviceIndex: parseDeviceNumber(mac, deviceNumber), interfaceId, localIpv4s, ipv4Prefixes };
}

async function linesOrNone(imds: ImdsApi, path: string): Promise<string[]> {
  try {
    return await imds.getLines(path);
  } catch (error) {
    if (error instanceof ImdsError && error.status === 404) return [];
    throw error;
  }
}
