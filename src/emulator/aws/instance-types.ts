/** What EC2 publishes about one instance type's networking (and enough else to look real). */
export interface InstanceTypeInfo {
  readonly name: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly networkPerformance: string;
  /** Network interfaces the instance may have attached, primary included. */
  readonly maxInterfaces: number;
  /** IPv4 addresses per interface, the interface's primary included. */
  readonly ipv4PerInterface: number;
  readonly ipv6PerInterface: number;
  readonly networkCards: number;
  readonly burstable: boolean;
}

type Row = readonly [size: string, vcpus: number, memoryMiB: number, enis: number, ips: number, perf: string];

/**
 * Why these numbers: the published "IP addresses per network interface per instance type" table,
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/AvailableIpPerENI.html (IPv6 equals IPv4
 * for these families).
 */
const FAMILIES: Record<string, readonly Row[]> = {
  t3: [
    ['nano', 2, 512, 2, 2, 'Up to 5 Gigabit'],
    ['micro', 2, 1024, 2, 2, 'Up to 5 Gigabit'],
    ['small', 2, 2048, 3, 4, 'Up to 5 Gigabit'],
    ['medium', 2, 4096, 3, 6, 'Up to 5 Gigabit'],
    ['large', 2, 8192, 3, 12, 'Up to 5 Gigabit'],
    ['xlarge', 4, 16384, 4, 15, 'Up to 5 Gigabit'],
    ['2xlarge', 8, 32768, 4, 15, 'Up to 5 Gigabit'],
  ],
  m5: [
    ['large', 2, 8192, 3, 10, 'Up to 10 Gigabit'],
    ['xlarge', 4, 16384, 4, 15, 'Up to 10 Gigabit'],
    ['2xlarge', 8, 32768, 4, 15, 'Up to 10 Gigabit'],
    ['4xlarge', 16, 65536, 8, 30, 'Up to 10 Gigabit'],
    ['8xlarge', 32, 131072, 8, 30, '10 Gigabit'],
    ['12xlarge', 48, 196608, 8, 30, '12 Gigabit'],
    ['16xlarge', 64, 262144, 15, 50, '20 Gigabit'],
    ['24xlarge', 96, 393216, 15, 50, '25 Gigabit'],
  ],
  m6i: [
    ['large', 2, 8192, 3, 10, 'Up to 12.5 Gigabit'],
    ['xlarge', 4, 16384, 4, 15, 'Up to 12.5 Gigabit'],
    ['2xlarge', 8, 32768, 4, 15, 'Up to 12.5 Gigabit'],
    ['4xlarge', 16, 65536, 8, 30, 'Up to 12.5 Gigabit'],
    ['8xlarge', 32, 131072, 8, 30, '12.5 Gigabit'],
    ['12xlarge', 48, 196608, 8, 30, '18.75 Gigabit'],
    ['16xlarge', 64, 262144, 15, 50, '25 Gigabit'],
    ['24xlarge', 96, 393216, 15, 50, '37.5 Gigabit'],
    ['32xlarge', 128, 524288, 15, 50, '50 Gigabit'],
  ],
  c5: [
    ['large', 2, 4096, 3, 10, 'Up to 10 Gigabit'],
    ['xlarge', 4, 8192, 4, 15, 'Up to 10 Gigabit'],
    ['2xlarge', 8, 16384, 4, 15, 'Up to 10 Gigabit'],
    ['4xlarge', 16, 32768, 8, 30, 'Up to 10 Gigabit'],
    ['9xlarge', 36, 73728, 8, 30, '12 Gigabit'],
    ['12xlarge', 48, 98304, 8, 30, '12 Gigabit'],
    ['18xlarge', 72, 147456, 15, 50, '25 Gigabit'],
    ['24xlarge', 96, 196608, 15, 50, '25 Gigabit'],
  ],
  r5: [
    ['large', 2, 16384, 3, 10, 'Up to 10 Gigabit'],
    ['xlarge', 4, 32768, 4, 15, 'Up to 10 Gigabit'],
    ['2xlarge', 8, 65536, 4, 15, 'Up to 10 Gigabit'],
    ['4xlarge', 16, 131072, 8, 30, 'Up to 10 Gigabit'],
    ['8xlarge', 32, 262144, 8, 30, '10 Gigabit'],
    ['12xlarge', 48, 393216, 8, 30, '12 Gigabit'],
    ['16xlarge', 64, 524288, 15, 50, '20 Gigabit'],
    ['24xlarge', 96, 786432, 15, 50, '25 Gigabit'],
  ],
};

/** Builds the table of every emulated instance type, sorted by name. */
export function instanceTypeTable(): ReadonlyMap<string, InstanceTypeInfo> {
  const table = new Map<string, InstanceTypeInfo>();
  for (const [family, rows] of Object.entries(FAMILIES)) {
    for (const [size, vcpus, memoryMiB, enis, ips, perf] of rows) {
      const name = `${family}.${size}`;
      table.set(name, {
        name,
        vcpus,
        memoryMiB,
        networkPerformance: perf,
        maxInterfaces: enis,
        ipv4PerInterface: ips,
        ipv6PerInterface: ips,
        networkCards: 1,
        burstable: family === 't3',
      });
    }
  }
  return new Map([...table.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** The largest per-interface IPv4 limit in the table: the cap for an interface not attached. */
export function maxIpv4PerInterface(table: ReadonlyMap<string, InstanceTypeInfo>): number {
  let max = 0;
  for (const info of table.values()) max = Math.max(max, info.ipv4PerInterface);
  return max;
}
