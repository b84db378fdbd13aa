/**
 * The ARM calls the Azure provider makes, as the provider wants them: NICs and their IP
 * configurations as plain records, writes as handles on their long-running operations, failures
 * as CloudErrors. The provider depends on this interface, never on an SDK: ArmGateway
 * (arm-gateway.ts) implements it over `@azure/arm-network` and `@azure/arm-compute`, and the churn
 * simulators bind it to the Azure emulator's state in-process on simulated time. Cilium's
 * `AzureAPI` is the model: the consumer owns the interface, backends implement it.
 *
 * No method retries: a throttled (429), refused or unanswered request reaches the provider, whose
 * journal and the pool's backoff decide what happens next. Failures are CloudErrors mapped by
 * error-mapping.ts (`cloudCode` is ARM's code, `retryAfterMs` its Retry-After), except the two
 * classes below, which tell the provider what to do rather than what went wrong.
 */
import type { CloudError } from '../../core/types.js';
import type { IpConfigView } from './ip-configs.js';
import type { UniformInstanceRef } from './resource-id.js';

/** A NIC as the provider sees it. */
export interface NicState {
  readonly id: string;
  readonly etag: string | undefined;
  /** Lower case, colon separated. */
  readonly mac: string | undefined;
  readonly primary: boolean;
  readonly provisioningState: string | undefined;
  readonly configs: readonly IpConfigView[];
}

/** A reference to a NIC of the VM, in the VM's order. */
export interface NicRef {
  readonly id: string;
  readonly primary: boolean;
}

/** The change one write makes to a NIC's configurations. */
export interface ConfigChange {
  readonly remove: readonly string[];
  /** Names of new configurations, all in `subnetId`, dynamic IPv4. */
  readonly add: readonly string[];
  readonly subnetId: string;
}

/** A write ARM has accepted: its resume state, and its completion. */
export interface WriteHandle {
  /** The operation's serialized poller state; persisted so a restarted daemon can finish the operation. */
  serialize(): Promise<string>;
  /** Resolves when the operation succeeded; throws a mapped CloudError when it failed, {@link OutcomeUnknown} when a poll got no answer. */
  done(): Promise<void>;
}

/** Thrown by a write whose ETag no longer matches: re-read, recompute, try again. */
export class EtagMismatch extends Error {
  override readonly name = 'EtagMismatch';
}

/**
 * A write whose outcome is unknown: the PUT or a poll got no answer (or a 5xx), so the operation
 * may still be running or may have succeeded. `cause` is the mapped CloudError.
 */
export class OutcomeUnknown extends Error {
  override readonly name = 'OutcomeUnknown';
  override readonly cause: CloudError;

  constructor(cause: CloudError) {
    super(cause.message, { cause });
    this.cause = cause;
  }
}

export interface ArmApi {
  /**
   * ARM's last `x-ms-ratelimit-remaining-subscription-writes`: the subscription's writes left,
   * which the provider paces its writes by. Undefined until an answer carried it.
   */
  readonly remainingWrites: number | undefined;

  /** GET of a standalone VM (or Flexible scale-set instance): its NICs in the VM's order. Read-only. */
  vmNics(resourceGroup: string, vmName: string): Promise<NicRef[]>;

  /** GET of a Uniform scale-set instance: its NICs in the instance's order. Read-only. */
  uniformNics(ref: UniformInstanceRef): Promise<NicRef[]>;

  /** GET of a NIC (an ordinary one, or a Uniform instance's). While an operation runs, ARM answers its goal state. Read-only. */
  nic(nicId: string): Promise<NicState>;

  /** GET of a virtual network: its address prefixes. Read-only. */
  vnetPrefixes(vnetId: string): Promise<string[]>;

  /**
   * PUT of an ordinary NIC with the change applied to the configurations ARM has now (a concurrent
   * writer's are carried over), with `If-Match: etag`; resolves once ARM accepted the operation.
   * Not idempotent. Throws {@link EtagMismatch} on 412, {@link OutcomeUnknown} when the PUT got no
   * answer or a 5xx.
   */
  writeNic(nicId: string, change: ConfigChange, etag: string | undefined): Promise<WriteHandle>;

  /** The handle of a NIC write from its serialized state (a restarted daemon finishing it). No request until done(). */
  resumeNic(serialized: string, nicId: string): WriteHandle;

  /** {@link writeNic} for a Uniform scale-set instance: a PUT of the instance's network profile with its ETag. */
  writeUniform(ref: UniformInstanceRef, nicId: string, change: ConfigChange): Promise<WriteHandle>;

  /** {@link resumeNic} for a Uniform instance's write; `target` names the instance. */
  resumeUniform(serialized: string, target: string): WriteHandle;

  /** Releases sockets. Called by the provider's close only for a backend it built itself. */
  close(): void;
}
