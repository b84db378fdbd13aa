/** Pure IPv4 / MAC text helpers for the datapath. */

export interface Ipv4Cidr {
  readonly address: string;
  readonly prefixLen: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Parses dotted-quad IPv4 text into its 4 bytes; throws a RangeError naming the value. */
export function ipv4Bytes(address: string): Uint8Array {
  const m = IPV4.exec(address);
  if (!m) throw new RangeError(`invalid IPv4 address ${JSON.stringify(address)}`);
  const bytes = m.slice(1, 5).map(Number);
  if (bytes.some((b) => b > 255)) throw new RangeError(`invalid IPv4 address ${JSON.stringify(address)}`);
  return Uint8Array.from(bytes);
}

export function ipv4ToNumber(address: string): number {
  const b = ipv4Bytes(address);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

export function numberToIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export function bytesToIpv4(bytes: Uint8Array): string {
  if (bytes.length !== 4) throw new RangeError(`expected 4 address bytes, got ${bytes.length}`);
  return Array.from(bytes).join('.');
}

/** Parses `a.b.c.d/len`; the address is normalised to the network address. */
export function parseCidr(cidr: string): Ipv4Cidr {
  const slash = cidr.indexOf('/');
  const len = slash < 0 ? NaN : Number(cidr.slice(slash + 1));
  if (!Number.isInteger(len) || len < 0 || len > 32 || !/^\d+$/.test(cidr.slice(slash + 1))) {
    throw new RangeError(`invalid IPv4 CIDR ${JSON.stringify(cidr)}`);
  }
  const base = ipv4ToNumber(cidr.slice(0, slash));
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { address: numberToIpv4((base & mask) >>> 0), prefixLen: len };
}

/** The first host address of a subnet: the AWS / Azure subnet gateway (`10.0.2.0/24` → `10.0.2.1`). */
export function subnetGateway(cidr: string): string {
  const { address, prefixLen } = parseCidr(cidr);
  if (prefixLen > 30) throw new RangeError(`subnet ${cidr} has no gateway address`);
  return numberToIpv4(ipv4ToNumber(address) + 1);
}

/** Normalises a MAC to lower-case colon form; throws a RangeError naming the value. */
export function normalizeMac(mac: string): string {
  const m = mac.trim().toLowerCase().replace(/-/g, ':');
  if (!MAC.test(m)) throw new RangeError(`invalid MAC address ${JSON.stringify(mac)}`);
  return m;
}

export function macBytes(mac: string): Buffer {
  return Buffer.from(normalizeMac(mac).split(':').map((h) => parseInt(h, 16)));
}

export function bytesToMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * Turns 6 random bytes into a unicast, locally administered MAC. The datapath sets veth MACs
 * itself: it knows the host MAC for the pod's neighbour entry without a round trip, and udev's
 * `MACAddressPolicy=persistent` leaves addresses set by userspace alone.
 */
export function localMac(random: Uint8Array): string {
  if (random.length < 6) throw new RangeError('need 6 random bytes for a MAC');
  const b = Uint8Array.from(random.subarray(0, 6));
  b[0] = (b[0]! & 0xfe) | 0x02;
  return bytesToMac(b);
}
