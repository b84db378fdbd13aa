/**
 * The instance types the EC2 emulator plays: every type of data/aws-instance-limits.json (generated
 * by scripts/generate-instance-limits.ts from the AWS VPC CNI's table of EC2's published limits).
 * The AWS provider reads the same file through its own loader (src/providers/aws/instance-limits.ts;
 * an emulator never imports a provider); test/unit/instance-limits-agree.test.ts checks both agree.
 * Like the provider's, this loader checks every row: a damaged one is an error naming the file and the type.
 */
import data from '../../../data/aws-instance-limits.json' with { type: 'json' };

/** What EC2 publishes about one instance type's networking (and enough else to look real). */
export interface InstanceTypeInfo {
  readonly name: string;
  /** Undefined where the data has no vCPU count for the type: DescribeInstanceTypes then leaves vCpuInfo out. */
  readonly vcpus: number | undefined;
  readonly memoryMiB: number | undefined;
  readonly networkPerformance: string | undefined;
  /** Network interfaces the instance may have attached on its default card, primary included. */
  readonly maxInterfaces: number;
  /** IPv4 addresses per interface, the interface's primary included. */
  readonly ipv4PerInterface: number;
  /** The data has no IPv6 limit: EC2's equals the IPv4 one for nearly every type. */
  readonly ipv6PerInterface: number;
  readonly networkCards: number;
  /** Interfaces per network card, by card index. */
  readonly networkCardInterfaces: readonly number[];
  readonly defaultNetworkCardIndex: number;
  /** nitro or xen; undefined on bare metal. */
  readonly hypervisor: 'nitro' | 'xen' | undefined;
  readonly bareMetal: boolean;
  readonly burstable: boolean;
}

/** Where the rows come from, for messages. */
const INSTANCE_TYPES_FILE = 'data/aws-instance-limits.json';

interface Row {
  readonly enis: number;
  readonly ipv4PerEni: number;
  readonly hypervisor: 'nitro' | 'xen' | 'unknown';
  readonly bareMetal: boolean;
  readonly defaultNetworkCardIndex: number;
  readonly networkCards: readonly number[];
  readonly vcpus?: number;
  readonly memoryMiB?: number;
}

const whole = (min: number) => (value: unknown): boolean => typeof value === 'number' && Number.isInteger(value) && value >= min;
const optional = (check: (value: unknown) => boolean) => (value: unknown): boolean => value === undefined || check(value);

/** What each field of a row must be, as a message says it. */
const ROW_FIELDS: Readonly<Record<keyof Row, readonly [check: (value: unknown) => boolean, what: string]>> = {
  enis: [whole(1), 'a whole number ≥ 1'],
  ipv4PerEni: [whole(1), 'a whole number ≥ 1'],
  hypervisor: [(v) => v === 'nitro' || v === 'xen' || v === 'unknown', 'nitro, xen or unknown'],
  bareMetal: [(v) => typeof v === 'boolean', 'true or false'],
  defaultNetworkCardIndex: [whole(0), 'a whole number ≥ 0'],
  networkCards: [(v) => Array.isArray(v) && v.every(whole(1)), 'a list of whole numbers ≥ 1'],
  vcpus: [optional(whole(1)), 'a whole number ≥ 1 when present'],
  memoryMiB: [optional(whole(1)), 'a whole number ≥ 1 when present'],
};

/**
 * A row as the data file must hold it; throws naming the file, the type and the field otherwise
 * (a damaged data file is an error, never an instance type with NaN interfaces).
 */
function checkedRow(name: string, row: unknown): Row {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) {
    throw new Error(`${INSTANCE_TYPES_FILE}: ${name}: not an object: ${JSON.stringify(row)}`);
  }
  const fields = row as Readonly<Record<string, unknown>>;
  for (const [field, [check, what]] of Object.entries(ROW_FIELDS)) {
    if (!check(fields[field])) throw new Error(`${INSTANCE_TYPES_FILE}: ${name}: ${field} must be ${what}, not ${JSON.stringify(row)}`);
  }
  return row as Row;
}

/** Network performance of the types the emulator played before it read the data: looks, not limits. */
const PERFORMANCE: Readonly<Record<string, string>> = {
  ...Object.fromEntries(['nano', 'micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'].map((s) => [`t3.${s}`, 'Up to 5 Gigabit'])),
  ...sized(['m5', 'r5'], { '8xlarge': '10 Gigabit', '12xlarge': '12 Gigabit', '16xlarge': '20 Gigabit', '24xlarge': '25 Gigabit' }, 'Up to 10 Gigabit'),
  ...sized(['c5'], { '9xlarge': '12 Gigabit', '12xlarge': '12 Gigabit', '18xlarge': '25 Gigabit', '24xlarge': '25 Gigabit' }, 'Up to 10 Gigabit'),
  ...sized(['m6i'], { '8xlarge': '12.5 Gigabit', '12xlarge': '18.75 Gigabit', '16xlarge': '25 Gigabit', '24xlarge': '37.5 Gigabit', '32xlarge': '50 Gigabit' }, 'Up to 12.5 Gigabit'),
};

function sized(families: readonly string[], big: Readonly<Record<string, string>>, small: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const family of families) {
    for (const size of ['large', 'xlarge', '2xlarge', '4xlarge']) out[`${family}.${size}`] = small;
    for (const [size, perf] of Object.entries(big)) out[`${family}.${size}`] = perf;
  }
  return out;
}

let table: ReadonlyMap<string, InstanceTypeInfo> | undefined;

/** The table of every emulated instance type, sorted by name (built once). Throws on a damaged row of the data file. */
export function instanceTypeTable(): ReadonlyMap<string, InstanceTypeInfo> {
  table ??= instanceTypeTableOf(data.types);
  return table;
}

/**
 * The table of the instance types `types` holds (rows as data/aws-instance-limits.json has them),
 * sorted by name. Throws naming the file, the type and the field when a row is damaged.
 */
export function instanceTypeTableOf(types: Readonly<Record<string, unknown>>): ReadonlyMap<string, InstanceTypeInfo> {
  const rows = Object.entries(types)
    .map(([name, raw]): [string, Row] => [name, checkedRow(name, raw)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new Map(
    rows.map(([name, row]): [string, InstanceTypeInfo] => [
      name,
      {
        name,
        vcpus: row.vcpus,
        memoryMiB: row.memoryMiB,
        networkPerformance: PERFORMANCE[name],
        maxInterfaces: row.enis,
        ipv4PerInterface: row.ipv4PerEni,
        ipv6PerInterface: row.ipv4PerEni,
        networkCards: Math.max(1, row.networkCards.length),
        networkCardInterfaces: row.networkCards.length > 0 ? row.networkCards : [row.enis],
        defaultNetworkCardIndex: row.defaultNetworkCardIndex,
        hypervisor: row.hypervisor === 'nitro' || row.hypervisor === 'xen' ? row.hypervisor : undefined,
        bareMetal: row.bareMetal,
        burstable: /^t\d/.test(name),
      },
    ]),
  );
}

/** The largest per-interface IPv4 limit in the table: the cap for an interface not attached. */
export function maxIpv4PerInterface(types: ReadonlyMap<string, InstanceTypeInfo>): number {
  let max = 0;
  for (const info of types.values()) max = Math.max(max, info.ipv4PerInterface);
  return max;
}
