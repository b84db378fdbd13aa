/**
 * Which IP configurations of a NIC are nativeip's, and the change a grow or shrink makes to the
 * list. Pure. A NIC PUT replaces the whole resource, so a change is always "the list read, minus
 * some of ours, plus new ones of ours": configurations that are not ours, and the primary, are
 * carried over untouched whatever the caller asks.
 */

/** Names nativeip gives the configurations it adds: `nativeip-1`, `nativeip-2`, … */
export const OUR_CONFIG_PREFIX = 'nativeip-';
const OUR_NAME = /^nativeip-([1-9][0-9]*)$/;

/** Azure's limit of IP configurations per NIC, the primary included. */
export const MAX_IP_CONFIGS_PER_NIC = 256;

/** Default IP configurations one PUT adds at most. */
export const DEFAULT_AZURE_BATCH_SIZE = 32;

/** What the provider reads of one IP configuration. */
export interface IpConfigView {
  readonly name: string;
  readonly primary: boolean;
  /** Undefined until ARM has allocated it. */
  readonly address: string | undefined;
  readonly subnetId: string | undefined;
  /** `Succeeded`, `Updating`, `Failed`, … as ARM reports it. */
  readonly provisioningState: string | undefined;
}

export function isOurConfigName(name: string): boolean {
  return OUR_NAME.test(name);
}

/** True for a configuration whose address pods may use: ours, not primary, allocated, settled. */
export function isUsableOurs(config: IpConfigView): boolean {
  return (
    isOurConfigName(config.name) &&
    !config.primary &&
    config.address !== undefined &&
    (config.provisioningState === undefined || config.provisioningState === 'Succeeded')
  );
}

/** Addresses of our usable configurations, in list order. */
export function ourAddresses(configs: readonly IpConfigView[]): string[] {
  return configs.filter(isUsableOurs).map((c) => c.address as string);
}

/** The primary configuration: the one flagged primary, else the first (ARM's rule for one-config NICs). */
export function primaryConfig(configs: readonly IpConfigView[]): IpConfigView | undefined {
  return configs.find((c) => c.primary) ?? (configs.length === 1 ? configs[0] : undefined);
}

export type AppendPlan =
  | { readonly kind: 'append'; readonly names: readonly string[] }
  | { readonly kind: 'full'; readonly configs: number };

/**
 * Names of the configurations one PUT adds: at most `count`, at most `batchSize`, and no more than
 * the NIC has room for. Names are the lowest unused `nativeip-<n>`.
 */
export function planAppend(
  configs: readonly IpConfigView[],
  options: { readonly count: number; readonly batchSize: number; readonly maxPerNic?: number },
): AppendPlan {
  const room = (options.maxPerNic ?? MAX_IP_CONFIGS_PER_NIC) - configs.length;
  const wanted = Math.min(options.count, options.batchSize, Math.max(0, room));
  if (wanted <= 0) return { kind: 'full', configs: configs.length };
  const taken = new Set(configs.map((c) => c.name.toLowerCase()));
  const names: string[] = [];
  for (let n = 1; names.length < wanted; n += 1) {
    const name = `${OUR_CONFIG_PREFIX}${n}`;
    if (!taken.has(name)) names.push(name);
  }
  return { kind: 'append', names };
}

/** Why an address asked to be released is left in place. */
export interface KeptAddress {
  readonly address: string;
  readonly reason: 'absent' | 'primary' | 'not-ours';
}

export interface RemovalPlan {
  /** Names of our configurations to drop. */
  readonly names: readonly string[];
  readonly kept: readonly KeptAddress[];
}

/** The configurations that release `addresses`: only ours, never the primary. */
export function planRemoval(configs: readonly IpConfigView[], addresses: readonly string[]): RemovalPlan {
  const names: string[] = [];
  const kept: KeptAddress[] = [];
  const primary = primaryConfig(configs);
  for (const address of new Set(addresses)) {
    const config = configs.find((c) => c.address === address);
    if (config === undefined) kept.push({ address, reason: 'absent' });
    else if (config === primary || config.primary) kept.push({ address, reason: 'primary' });
    else if (!isOurConfigName(config.name)) kept.push({ address, reason: 'not-ours' });
    else names.push(config.name);
  }
  return { names, kept };
}

/** The minimum a configuration in a PUT body must carry to be matched by name. */
export interface NamedConfig {
  readonly name?: string | undefined;
  readonly primary?: boolean | undefined;
}

/** Thrown when a change would drop a configuration that is not ours or the primary: a bug, never sent. */
export class UnsafeIpConfigChange extends Error {
  override readonly name = 'UnsafeIpConfigChange';
}

/**
 * The list to PUT: `configs` as read, without the named ones of ours, with `added` at the end.
 * Throws {@link UnsafeIpConfigChange} rather than drop a configuration that is not ours or is the
 * primary, or add one whose name is taken.
 */
export function applyIpConfigChange<T extends NamedConfig>(
  configs: readonly T[],
  change: { readonly remove: readonly string[]; readonly add: readonly T[] },
): T[] {
  const removing = new Set(change.remove.map((n) => n.toLowerCase()));
  for (const name of removing) {
    if (!isOurConfigName(name)) throw new UnsafeIpConfigChange(`refusing to remove IP configuration ${name}: it is not nativeip's`);
  }
  const kept = configs.filter((c) => {
    const name = (c.name ?? '').toLowerCase();
    if (!removing.has(name)) return true;
    if (c.primary === true) throw new UnsafeIpConfigChange(`refusing to remove IP configuration ${c.name ?? ''}: it is the primary`);
    return false;
  });
  const names = new Set(kept.map((c) => (c.name ?? '').toLowerCase()));
  for (const config of change.add) {
    const name = (config.name ?? '').toLowerCase();
    if (!isOurConfigName(name)) throw new UnsafeIpConfigChange(`refusing to add IP configuration ${config.name ?? ''}: not a nativeip name`);
    if (names.has(name)) throw new UnsafeIpConfigChange(`IP configuration ${config.name ?? ''} already exists`);
    names.add(name);
  }
  return [...kept, ...change.add];
}
