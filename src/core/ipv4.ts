/** IPv4 addresses and CIDR blocks: dotted text, 32-bit unsigned integers and bytes. Pure. */

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Whether `value` is dotted-quad IPv4 text: four decimal octets 0-255, no leading zeros. */
export function isIpv4(value: string): boolean {
  const parts = value.split('.');
  return parts.length === 4 && parts.every((p) => OCTET.test(p));
}

/** The address as a 32-bit unsigned integer, or undefined when `text` is not {@link isIpv4}. */
export function tryIpv4ToInt(text: string): number | undefined {
  if (!isIpv4(text)) return undefined;
  return text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** The address as a 32-bit unsigned integer; throws a RangeError naming the value. */
export function ipv4ToInt(address: string): number {
  const value = tryIpv4ToInt(address);
  if (value === undefined) throw new RangeError(`invalid IPv4 address ${JSON.stringify(address)}`);
  return value;
}

export function intToIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export function compareIpv4(a: string, b: string): number {
  return ipv4ToInt(a) - ipv4ToInt(b);
}

/** The address's 4 bytes in network order; throws a RangeError naming the value. */
export function ipv4ToBytes(address: string): Uint8Array {
  const value = ipv4ToInt(address);
  return Uint8Array.from([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);
}

export function bytesToIpv4(bytes: Uint8Array): string {
  if (bytes.length !== 4) throw new RangeError(`expected 4 address bytes, got ${bytes.length}`);
  return Array.from(bytes).join('.');
}

/** An IPv4 CIDR block. */
export interface Cidr {
  /** The network address (host bits zero) as a 32-bit unsigned integer. */
  readonly network: number;
  readonly prefixLength: number;
  /** How many addresses the block holds: 2^(32 − prefixLength). */
  readonly size: number;
  /** Canonical text, `network/prefixLength` (`10.0.2.77/24` → `10.0.2.0/24`). */
  readonly text: string;
}

function makeCidr(address: number, prefixLength: number): Cidr {
  const size = 2 ** (32 - prefixLength);
  const network = address - (address % size);
  return { network, prefixLength, size, text: `${intToIpv4(network)}/${prefixLength}` };
}

/**
 * Parses `a.b.c.d/len` (len 0-32) with the address normalised to the network address, or
 * returns undefined for anything else.
 */
export function tryParseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = tryIpv4ToInt(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (address === undefined || !/^\d{1,2}$/.test(lengthText)) return undefined;
  const prefixLength = Number(lengthText);
  return prefixLength > 32 ? undefined : makeCidr(address, prefixLength);
}

/** {@link tryParseCidr}, throwing a RangeError naming the value. */
export function parseCidr(text: string): Cidr {
  const cidr = tryParseCidr(text);
  if (cidr === undefined) throw new RangeError(`invalid IPv4 CIDR ${JSON.stringify(text)}`);
  return cidr;
}

/** {@link tryParseCidr}, but undefined too when the address has host bits set (`10.0.1.0/20`). */
export function parseAlignedCidr(text: string): Cidr | undefined {
  const cidr = tryParseCidr(text);
  return cidr !== undefined && text.startsWith(`${intToIpv4(cidr.network)}/`) ? cidr : undefined;
}

/** Whether the block holds the address given as a 32-bit unsigned integer. */
export function cidrHolds(cidr: Cidr, address: number): boolean {
  return address >= cidr.network && address < cidr.network + cidr.size;
}

/** Whether the CIDR holds the address; both are text and throw a RangeError when invalid. */
export function cidrContains(cidr: string, address: string): boolean {
  return cidrHolds(parseCidr(cidr), ipv4ToInt(address));
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.network < b.network + b.size && b.network < a.network + a.size;
}

/**
 * The first host address of a subnet: the AWS VPC and Azure VNet router's address
 * (`10.0.2.0/24` → `10.0.2.1`). Throws a RangeError for a /31 or /32, which has none.
 */
export function subnetGateway(cidr: string): string {
  const { network, prefixLength } = parseCidr(cidr);
  if (prefixLength > 30) throw new RangeError(`subnet ${cidr} has no gateway address`);
  return intToIpv4(network + 1);
}
