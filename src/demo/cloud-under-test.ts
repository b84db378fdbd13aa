/**
 * The emulated cloud as a check sees it, whatever the cloud: each node as the cloud has it, read
 * from the emulator's own state (no SDK), and the emulator's faults. Each emulator folder makes
 * one (`src/emulator/<cloud>/cloud-under-test.ts`) and its cluster recipe hands it to the
 * EmulatedCluster; the crash campaign (src/demo/crash-campaign) reads and fails the cloud through it.
 */
import type { FaultCounts, FaultRuleInput } from '../emulator/faults/index.js';

/** One of the node's interfaces as the cloud has it. */
export interface CloudInterfaceView {
  readonly id: string;
  /** What the cloud gives it for pods: secondary addresses and the addresses of delegated prefixes (not its primary). */
  readonly addresses: readonly string[];
}

/** The node as the cloud has it. */
export interface CloudView {
  /** The interfaces attached to the node. */
  nodeInterfaces(): Promise<readonly CloudInterfaceView[]>;
  /**
   * Interfaces that would outlive the node or belong to no node: created by nativeip for it but
   * not attached, or attached without DeleteOnTermination. Empty on a cloud where nativeip creates
   * no interfaces.
   */
  leakedInterfaces(): Promise<string[]>;
}

/** What a check needs of an emulator's fault plan. */
export interface CloudFaults {
  /** Replaces every rule; the rate draws restart from `seed`. */
  set(plan: { readonly seed: number; readonly rules: readonly FaultRuleInput[] }): void;
  /** Drops every rule; the counts stay. */
  clear(): void;
  fired(): FaultCounts;
}

/**
 * The cloud's API actions as a fault rule names them (an action, or a `Prefix*` pattern): the
 * calls of its provider that change something, and its reads. Lost replies, throttling and
 * timeouts hurt most on writes, so a fault round aims those at the writes only.
 */
export interface FaultActions {
  readonly writes: readonly string[];
  readonly reads: readonly string[];
}

/** The emulated cloud of a cluster. */
export interface CloudUnderTest {
  /** Node `instanceId` as the cloud has it; each call of the view reads the emulator anew. */
  view(instanceId: string): CloudView;
  readonly faults: CloudFaults;
  readonly faultActions: FaultActions;
}
