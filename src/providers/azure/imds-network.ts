/**
 * The network part of Azure IMDS (`/metadata/instance/network`), decoded strictly, and the node
 * observation the reconciler compares with its pool. Pure.
 *
 * Shape (https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service, "Network
 * metadata"): `{ interface: [{ macAddress: '000D3AF806EC', ipv4: { ipAddress: [{ privateIpAddress,
 * publicIpAddress }], subnet: [{ address, prefix }] }, ipv6: { ipAddress: [] } }] }`, the MAC in
 * upper case without separators, the NIC's primary IP configuration first. IMDS names no NIC
 * resource id: a NIC is known by its MAC.
 */
import { isIpv4 } from '../../core/ipv4.js';
import type { NodeObservation, ObservedInterface } from '../../core/types.js';
import { normaliseMac } from './resource-id.js';

/** One NIC as IMDS lists it. */
export interface ImdsInterface {
  /** Lower case, colon separated. */
  readonly mac: string;
  /** Every private IPv4 address of the NIC, its primary first. */
  readonly addresses: readonly string[];
  /** `10.0.1.0/24`, from the first subnet IMDS lists for the NIC. */
  readonly subnetCidr: string | undefined;
}

/** A NIC the provider has described from ARM: what IMDS cannot say. */
export interface KnownNic {
  /** The NIC's ARM resource id. */
  readonly id: string;
  readonly deviceIndex: number;
}

/** Thrown for a network document that cannot be read; the message names the first bad field. */
export class ImdsNetworkDecodeError extends Error {
  override readonly name = 'ImdsNetworkDecodeError';
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(message: string): never {
  throw new ImdsNetworkDecodeError(message);
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) bad(`${where}: expected an array, got ${describe(value)}`);
  return value;
}

function record(value: unknown, where: string): Json {
  if (!isRecord(value)) bad(`${where}: expected an object, got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `'${value.slice(0, 40)}'` : typeof value;
}

function decodeSubnet(value: unknown, where: string): string {
  const subnet = record(value, where);
  const address = subnet['address'];
  const prefix = subnet['prefix'];
  if (typeof address !== 'string' || !isIpv4(address)) bad(`${where}.address: ${describe(address)} is not an IPv4 address`);
  const bits = typeof prefix === 'string' && /^[0-9]{1,2}$/.test(prefix) ? Number(prefix) : Number.NaN;
  if (!(bits >= 0 && bits <= 32)) bad(`${where}.prefix: ${describe(prefix)} is not a prefix length (a string, 0 to 32)`);
  return `${address}/${bits}`;
}

function decodeInterface(value: unknown, where: string): ImdsInterface {
  const nic = record(value, where);
  const rawMac = nic['macAddress'];
  const mac = typeof rawMac === 'string' ? normaliseMac(rawMac) : undefined;
  if (mac === undefined) bad(`${where}.macAddress: ${describe(rawMac)} is not a MAC address`);
  const ipv4 = record(nic['ipv4'], `${where}.ipv4`);
  const addresses = list(ipv4['ipAddress'], `${where}.ipv4.ipAddress`).map((entry, i) => {
    const at = `${where}.ipv4.ipAddress[${i}]`;
    const address = record(entry, at)['privateIpAddress'];
    if (typeof address !== 'string' || !isIpv4(address)) bad(`${at}.privateIpAddress: ${describe(address)} is not an IPv4 address`);
    return address;
  });
  const subnets = ipv4['subnet'] === undefined ? [] : list(ipv4['subnet'], `${where}.ipv4.subnet`);
  const subnetCidr = subnets.length === 0 ? undefined : decodeSubnet(subnets[0], `${where}.ipv4.subnet[0]`);
  return { mac, addresses, subnetCidr };
}

/**
 * Decodes the answer of `/metadata/instance/network` (or the `network` member of the instance
 * document). Throws {@link ImdsNetworkDecodeError} naming the first field that is missing or
 * malformed, and for a document that lists no NIC or one MAC twice: a VM always has a NIC, so
 * such a document is not one the reconciler may trust.
 */
export function decodeNetworkMetadata(value: unknown): ImdsInterface[] {
  const network = record(value, 'network');
  const interfaces = list(network['interface'], 'network.interface').map((nic, i) => decodeInterface(nic, `network.interface[${i}]`));
  if (interfaces.length === 0) bad('network.interface: lists no network interface');
  const seen = new Set<string>();
  for (const nic of interfaces) {
    if (seen.has(nic.mac)) bad(`network.interface: MAC ${nic.mac} is listed twice`);
    seen.add(nic.mac);
  }
  return interfaces;
}

/**
 * The node as IMDS shows it, for {@link NodeObservation}: each NIC by the id and device index the
 * last describe gave its MAC. A MAC the last describe did not report (a NIC it skipped, or none
 * described yet) keeps the MAC as its id, so the comparison reports it as an interface the pool
 * does not know and the reconciler describes the node. IMDS shows no VNet ranges: `vpcCidrs` is
 * left out and not compared.
 */
export function observationFromImds(interfaces: readonly ImdsInterface[], known: ReadonlyMap<string, KnownNic>): NodeObservation {
  return {
    interfaces: interfaces.map((nic, position): ObservedInterface => {
      const described = known.get(nic.mac);
      return { mac: nic.mac, deviceIndex: described?.deviceIndex ?? position, id: described?.id ?? nic.mac, addresses: nic.addresses, prefixes: [] };
    }),
  };
}
