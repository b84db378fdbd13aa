/** Pure MAC address text helpers for the datapath. */

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

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
