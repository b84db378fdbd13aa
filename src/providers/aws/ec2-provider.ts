/**
 * {@link CloudProvider} for AWS: node facts from IMDSv2, ENIs and addresses through EC2.
 * The constructor does no I/O; the first call discovers the node and caches what cannot change
 * while the instance runs (identity, limits, region, primary subnet, security groups).
 */
import type { CloudInterface, CloudProvider, CreateInterfaceOptions, NodeObservation, NodeSnapshot } from '../../core/types.js';
import { describeNodeSnapshot, newEc2Gateway, nodeFactsOf, observeNodeFromImds, readImdsNode } from './ec2-discovery.js';
import type { Ec2Api } from './ec2-api.js';
import { assignEniPrefixes, assignSecondaryIps, checkCount, createAttachedEni } from './ec2-grow.js';
import { SILENT_LOGGER } from '../../core/silent-logger.js';
import { sleep as defaultSleep } from '../../core/sleep.js';
import type { AwsProviderLogger, Ec2ProviderOptions } from './ec2-provider-options.js';
import { resolveUnfinished, settleDeleteOnTermination } from './ec2-resume.js';
import type { Ec2Session, KnownEni, NodeFacts, UnfinishedEniWork } from './ec2-session.js';
import { deleteManagedEni, unassignEniPrefixes, unassignSecondaryIps } from './ec2-shrink.js';
import { EniJournal, decodeEniJournal } from './eni-journal.js';
import type { ImdsApi } from './imds-api.js';
import { ImdsClient } from './imds-client.js';
import { collectLeakedEnis } from './leaked-eni-collection.js';

export type { AwsProviderLogger, DetachWaitOptions, Ec2ProviderOptions } from './ec2-provider-options.js';

export class Ec2Provider implements CloudProvider {
  readonly name = 'aws';
  private readonly options: Ec2ProviderOptions;
  private readonly log: AwsProviderLogger;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly imds: ImdsApi;
  private gateway: Ec2Api | undefined;
  private factsPromise: Promise<NodeFacts> | undefined;
  private readonly subnetCidrs = new Map<string, string>();
  private readonly knownEnis = new Map<string, KnownEni>();
  /** The instance the restored state was saved on; see restoreState. */
  private restoredFrom: string | undefined;
  private readonly unfinished: UnfinishedEniWork = { unattached: undefined, deleteOnTermination: new Map(), journal: new EniJournal() };

  constructor(options: Ec2ProviderOptions = {}) {
    this.options = options;
    this.log = options.logger ?? SILENT_LOGGER;
    this.sleep = options.sleep ?? defaultSleep;
    this.imds =
      options.imdsApi ??
      new ImdsClient({
        ...(options.imdsEndpoint === undefined ? {} : { endpoint: options.imdsEndpoint }),
        ...(options.imdsTimeoutMs === undefined ? {} : { timeoutMs: options.imdsTimeoutMs }),
        sleep: this.sleep,
      });
  }

  /** Releases the SDK client's sockets (an injected ec2Api is the caller's to close). The provider must not be used afterwards. */
  close(): void {
    if (this.options.ec2Api === undefined) this.gateway?.destroy();
    this.gateway = undefined;
  }

  /**
   * ENIs on their way from create to attached with DeleteOnTermination (eni-journal.ts), for the
   * checkpoint; undefined when none are.
   */
  resumeState(): unknown {
    return this.unfinished.journal?.encode();
  }

  /**
   * Takes the ENI work a previous run left unfinished. No I/O: the first describeNode (or create,
   * or sweep) looks each one up in EC2 and finishes or undoes it. Unreadable state is logged and
   * ignored: the leaked-ENI sweep and describeNode's DeleteOnTermination check still repair it.
   */
  restoreState(state: unknown, savedBy?: string): void {
    try {
      this.unfinished.journal?.restore(decodeEniJournal(state));
      this.restoredFrom = savedBy;
    } catch (error) {
      this.log.error({ err: (error as Error).message }, 'ignoring unreadable AWS provider state from the checkpoint');
    }
  }

  /** `save` resolves once the checkpoint holding {@link resumeState} is on disk; awaited before each journalled call. */
  onResumeStateChange(save: () => Promise<void>): void {
    this.unfinished.journal?.onSave(save);
  }

  async describeNode(): Promise<NodeSnapshot> {
    return describeNodeSnapshot(await this.session());
  }

  /**
   * The attached ENIs with their addresses and prefixes, and the VPC's CIDRs, from IMDS alone
   * (the `macs/` tree): no EC2 call, so the reconciler can check the node every minute without
   * spending the account's describe budget. Lags EC2 by a second or two after a change.
   */
  async observeNode(): Promise<NodeObservation> {
    return observeNodeFromImds(await this.session());
  }

  throttledAtMs(): number | undefined {
    return this.gateway?.lastThrottledAtMs;
  }

  async assignAddresses(interfaceId: string, count: number): Promise<string[]> {
    checkCount(count, `cannot assign ${count} addresses to ${interfaceId}`);
    if (count === 0) return [];
    return assignSecondaryIps(await this.session(), interfaceId, count);
  }

  async createInterface(options: CreateInterfaceOptions): Promise<CloudInterface> {
    return createAttachedEni(await this.session(), options);
  }

  async releaseAddresses(interfaceId: string, addresses: readonly string[]): Promise<void> {
    if (addresses.length === 0) return;
    await unassignSecondaryIps(await this.session(), interfaceId, addresses);
  }

  async assignPrefixes(interfaceId: string, count: number): Promise<string[]> {
    checkCount(count, `cannot delegate ${count} prefixes to ${interfaceId}`);
    if (count === 0) return [];
    return assignEniPrefixes(await this.session(), interfaceId, count);
  }

  async releasePrefixes(interfaceId: string, prefixes: readonly string[]): Promise<void> {
    if (prefixes.length === 0) return;
    await unassignEniPrefixes(await this.session(), interfaceId, prefixes);
  }

  /**
   * Deletes leaked ENIs (see leaked-enis.ts for the rules). An ENI attached or deleted by someone
   * else meanwhile is skipped. Returns the ids deleted. First finishes ENI work a crash left
   * unfinished and sets every DeleteOnTermination still unset (throttled, failed, or found unset
   * by describeNode), so it does not wait for a next create that may never come; this costs no
   * describe beyond the sweep's own.
   */
  async collectLeakedInterfaces(): Promise<string[]> {
    const session = await this.session();
    await resolveUnfinished(session);
    await settleDeleteOnTermination(session);
    return collectLeakedEnis(session);
  }

  async deleteInterface(interfaceId: string): Promise<void> {
    await deleteManagedEni(await this.session(), interfaceId);
  }

  /** The node's facts (discovering them at the first call) and the provider's state, for one operation. */
  private async session(): Promise<Ec2Session> {
    const facts = await this.facts();
    return {
      facts,
      ec2: () => this.ec2(),
      imds: this.imds,
      options: this.options,
      log: this.log,
      sleep: this.sleep,
      subnetCidrs: this.subnetCidrs,
      knownEnis: this.knownEnis,
      unfinished: this.unfinished,
    };
  }

  private ec2(): Ec2Api {
    if (this.gateway === undefined) throw new Error('Ec2Provider used before discovery');
    return this.gateway;
  }

  private facts(): Promise<NodeFacts> {
    if (this.factsPromise === undefined) {
      this.factsPromise = this.discover().catch((error: unknown) => {
        this.factsPromise = undefined;
        throw error;
      });
    }
    return this.factsPromise;
  }

  private async discover(): Promise<NodeFacts> {
    const node = await readImdsNode(this.imds, this.options.region);
    for (const entry of node.macs) this.subnetCidrs.set(entry.subnetId, entry.subnetCidr);
    this.gateway ??= this.options.ec2Api ?? newEc2Gateway(node.identity.region, this.options);
    if (this.restoredFrom !== undefined && this.restoredFrom !== node.identity.instanceId) {
      const dropped = this.unfinished.journal?.dropRestored() ?? 0;
      if (dropped > 0) this.log.warn({ savedBy: this.restoredFrom, instanceId: node.identity.instanceId, dropped }, 'ignoring ENI work in flight that the checkpoint recorded on another instance');
    }
    return nodeFactsOf(node, this.gateway, this.options.maxEnis, this.log);
  }
}
