/** What the provider's EC2 operations share once the node is discovered. */
import type { InterfaceLimits } from '../../core/types.js';
import type { Ec2Api } from './ec2-api.js';
import type { AwsProviderLogger, Ec2ProviderOptions } from './ec2-provider-options.js';
import type { EniRecord } from './ec2-records.js';
import type { EniJournal } from './eni-journal.js';
import type { ImdsApi } from './imds-api.js';
import type { ImdsIdentity } from './node-discovery.js';

/** Facts cached after the first discovery. */
export interface NodeFacts {
  readonly identity: ImdsIdentity;
  /** Limits after the maxEnis cap. */
  readonly limits: InterfaceLimits;
  /** The instance type's own limits. */
  readonly typeLimits: InterfaceLimits;
  readonly primarySubnetId: string;
  readonly primarySubnetCidr: string;
  readonly securityGroupIds: readonly string[];
}

/** What the provider last saw of an ENI, to name its subnet in errors and drop its primary address. */
export interface KnownEni {
  readonly subnetId: string;
  readonly primaryIp: string;
}

/**
 * ENI work EC2 throttled halfway, kept for the next create instead of undone: undoing costs calls
 * from the same buckets every node is short of (a delete, a detach), and redoing costs more (a
 * create). Leaked-ENI GC spares a kept ENI for KEPT_ENI_MAX_AGE_MS, then deletes it if the daemon
 * never came back to it; with the GC off, it stays until deleted by hand. What must survive a
 * restart is in {@link journal} too, on disk before each call (eni-journal.ts): a restarted daemon
 * keeps the ENI again and sets a DeleteOnTermination left unset.
 */
export interface UnfinishedEniWork {
  /**
   * Created and tagged, but its attach was throttled: the next create attaches this one instead,
   * whatever counts that create asks for (the pool takes the addresses the interface returned has).
   */
  unattached: EniRecord | undefined;
  /**
   * Attached, but setting DeleteOnTermination was throttled: ENI id → attachment id, set before
   * the next create and at the next leaked-ENI sweep.
   */
  readonly deleteOnTermination: Map<string, string>;
  /**
   * The durable record of ENIs on their way from create to DeleteOnTermination, saved with the
   * daemon's checkpoint. Absent (sessions built by hand in tests): nothing is recorded.
   */
  readonly journal?: EniJournal;
}

export interface Ec2Session {
  readonly facts: NodeFacts;
  /** The EC2 calls (the SDK gateway, or an injected backend); throws once the provider is closed. */
  readonly ec2: () => Ec2Api;
  readonly imds: ImdsApi;
  readonly options: Ec2ProviderOptions;
  readonly log: AwsProviderLogger;
  readonly sleep: (ms: number) => Promise<void>;
  /** Subnet id → IPv4 CIDR, for every subnet seen so far. */
  readonly subnetCidrs: Map<string, string>;
  /** ENIs by id, as last seen. */
  readonly knownEnis: Map<string, KnownEni>;
  readonly unfinished: UnfinishedEniWork;
}

export function rememberEni(knownEnis: Map<string, KnownEni>, eni: EniRecord): void {
  knownEnis.set(eni.id, { subnetId: eni.subnetId, primaryIp: eni.primaryIp });
}
