import type { Cidr } from '../../core/ipv4.js';
import { cidrHolds } from '../../core/ipv4.js';

/**
 * Why: AWS reserves the first four addresses (network, VPC router, DNS, future use) and the last
 * (broadcast) of every subnet. https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html
 */
const RESERVED_LOW = 4;

/**
 * Tracks which addresses of one subnet are taken. Allocation is deterministic lowest-free.
 * Single addresses and aligned blocks (for /28 prefix delegation) share one `used` set, so a block
 * is only handed out when all of its addresses are free, and a single address never lands inside
 * a block.
 */
export class AddressAllocator {
  readonly cidr: Cidr;
  private readonly used = new Set<number>();
  private lowestMaybeFree: number;

  constructor(cidr: Cidr) {
    this.cidr = cidr;
    this.lowestMaybeFree = cidr.network + RESERVED_LOW;
  }

  /** First usable address of the subnet; the VPC router, used as the gateway. */
  get gateway(): number {
    return this.cidr.network + 1;
  }

  get usableCount(): number {
    return Math.max(0, this.cidr.size - RESERVED_LOW - 1);
  }

  get freeCount(): number {
    return this.usableCount - this.used.size;
  }

  isReserved(address: number): boolean {
    const offset = address - this.cidr.network;
    return offset < RESERVED_LOW || offset === this.cidr.size - 1;
  }

  contains(address: number): boolean {
    return cidrHolds(this.cidr, address);
  }

  isUsed(address: number): boolean {
    return this.used.has(address);
  }

  /** Takes `count` lowest free addresses, or none (returns undefined) when fewer are free. */
  allocate(count: number): number[] | undefined {
    if (count > this.freeCount) return undefined;
    const taken: number[] = [];
    const last = this.cidr.network + this.cidr.size - 2;
    for (let a = this.lowestMaybeFree; a <= last && taken.length < count; a++) {
      if (!this.used.has(a)) taken.push(a);
    }
    if (taken.length < count) return undefined;
    for (const a of taken) this.used.add(a);
    this.lowestMaybeFree = (taken[taken.length - 1] ?? this.lowestMaybeFree - 1) + 1;
    return taken;
  }

  /** Marks a specific address taken. The caller has checked it is in range, free and not reserved. */
  claim(address: number): void {
    this.used.add(address);
  }

  release(address: number): void {
    if (this.used.delete(address) && address < this.lowestMaybeFree) {
      this.lowestMaybeFree = Math.max(address, this.cidr.network + RESERVED_LOW);
    }
  }

  /**
   * Takes the lowest aligned block of 2^(32 - prefixLength) addresses that are all free and not
   * reserved; returns its base address, or undefined when no such block exists.
   */
  allocateBlock(prefixLength: number): number | undefined {
    const size = 2 ** (32 - prefixLength);
    if (size > this.cidr.size) return undefined;
    for (let start = this.cidr.network; start < this.cidr.network + this.cidr.size; start += size) {
      if (this.blockIsFree(start, size)) {
        for (let a = start; a < start + size; a++) this.used.add(a);
        return start;
      }
    }
    return undefined;
  }

  releaseBlock(base: number, prefixLength: number): void {
    const size = 2 ** (32 - prefixLength);
    for (let a = base; a < base + size; a++) this.release(a);
  }

  private blockIsFree(start: number, size: number): boolean {
    for (let a = start; a < start + size; a++) {
      if (this.isReserved(a) || this.used.has(a)) return false;
    }
    return true;
  }
}
