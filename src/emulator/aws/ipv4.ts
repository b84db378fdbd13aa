import { Ec2ApiError } from './errors.js';

/** An IPv4 CIDR block with its base address as a 32-bit unsigned integer. */
export interface Cidr {
  readonly base: number;
  readonly prefixLength: number;
  /** Number of addresses in the block. */
  readonly size: number;
  readonly text: string;
}

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIpv4(text: string): number | undefined {
  const m = DOTTED.exec(text);
  if (m === null) return undefined;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255 || (m[i]!.length > 1 && m[i]!.startsWith('0'))) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** Parses `a.b.c.d/len`; the base must be aligned. Returns undefined for anything else. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const base = parseIpv4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (base === undefined || !/^\d{1,2}$/.test(lenText)) return undefined;
  const prefixLength = Number(lenText);
  if (prefixLength > 32) return undefined;
  const size = 2 ** (32 - prefixLength);
  if (base % size !== 0) return undefined;
  return { base, prefixLength, size, text: `${formatIpv4(base)}/${prefixLength}` };
}

export function requireCidr(text: string, what: string): Cidr {
  const cidr = parseCidr(text);
  if (cidr === undefined) {
    throw new Ec2ApiError('InvalidParameterValue', `${what} '${text}' is not a valid aligned IPv4 CIDR block`);
  }
  return cidr;
}

export function cidrContains(cidr: Cidr, address: number): boolean {
  return address >= cidr.base && address < cidr.base + cidr.size;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}
