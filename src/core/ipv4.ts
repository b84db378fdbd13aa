/** IPv4 arithmetic on dotted strings. Pure. */

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function isIpv4(value: string): boolean {
  const parts = value.split('.');
  return parts.length === 4 && parts.every((p) => OCTET.test(p));
}

export function ipv4ToInt(address: string): number {
  if (!isIpv4(address)) throw new RangeError(`not an IPv4 address: ${JSON.stringify(address)}`);
  return address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function intToIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export function compareIpv4(a: string, b: string): number {
  return ipv4ToInt(a) - ipv4ToInt(b);
}

export interface Cidr {
  readonly network: number;
  readonly prefixLength: number;
}

export function parseCidr(cidr: string): Cidr {
  const [address, lengthText, extra] = cidr.split('/');
  const prefixLength = Number(lengthText);
  if (address === undefined || extra !== undefined || !isIpv4(address) || !/^\d{1,2}$/.test(lengthText ?? '') || prefixLength > 32) {
    throw new RangeError(`not an IPv4 CIDR: ${JSON.stringify(cidr)}`);
  }
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return { network: (ipv4ToInt(address) & mask) >>> 0, prefixLength };
}

export function cidrContains(cidr: string, address: string): boolean {
  const { network, prefixLength } = parseCidr(cidr);
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return ((ipv4ToInt(address) & mask) >>> 0) === network;
}

/** The first host address of a subnet: the VPC and VNet router's address (`x.x.x.1` in a /24). */
export function subnetGateway(cidr: string): string {
  return intToIpv4(parseCidr(cidr).network + 1);
}
