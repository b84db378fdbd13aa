import { randomInt } from 'node:crypto';
import type { EmulatorTopology } from './ec2-model.js';
import { Ec2Server } from './ec2-server.js';
import { Ec2State } from './ec2-state.js';
import { imdsInterfaces, topology } from './ec2-views.js';
import { seededIdSource } from '../shared/ids.js';
import { ImdsHistory } from './imds-history.js';
import { ImdsServer } from './imds-server.js';
import { fragment } from './eni-prefixes.js';
import { releaseAddresses } from './eni-addresses.js';
import { instanceTypeTable } from './instance-types.js';
import { intToIpv4 } from '../../core/ipv4.js';
import { Throttler } from './ec2-throttling.js';
import { EC2_FAULT_KINDS } from './ec2-faults.js';
import { FAULT_CONTROL_PATH } from '../faults/fault-control.js';
import { FaultPlan, type FaultPlanSpec } from '../faults/fault-plan.js';
import { emulatorFaults, type EmulatorFaults } from '../faults/index.js';

export type { EmulatorTopology, TopologyDetachedInterface, TopologyInterface } from './ec2-model.js';
export { Ec2ApiError } from './errors.js';
export { EC2_FAULT_KINDS } from './ec2-faults.js';
export type { EmulatorFaults, FaultRuleInput } from '../faults/index.js';

export interface AwsEmulatorOptions {
  /** Address every listener binds; default `127.0.0.1`. */
  host?: string;
  /** EC2 API port; 0 (default) picks a free one. IMDS listeners always pick free ports. */
  port?: number;
  /** Default `us-east-1`. */
  region?: string;
  /** Default `10.0.0.0/16`. */
  vpcCidr?: string;
  /**
   * Default: one subnet `10.0.0.0/20` in `<region>a`. The first is where instances launch by
   * default. `fragmented`: start with no free /28 (see {@link AwsEmulator.fragmentSubnet}).
   */
  subnets?: { id?: string; cidr: string; az?: string; fragmented?: boolean }[];
  /** Extra latency per action name, in milliseconds, waited before the action runs. Default 0. */
  latencyMs?: Partial<Record<string, number>>;
  /** How long a detached interface stays `detaching`. Default 0 (available on the next read). */
  detachDelayMs?: number;
  /** How far IMDS lags EC2 after attach/detach/assign/unassign (real: ~1–2 s). Default 0. */
  imdsPropagationMs?: number;
  /** Enforce EC2's request token buckets (RequestLimitExceeded, HTTP 503). Default off. */
  throttling?: boolean;
  /** Time source in epoch ms; default `Date.now`. Detach completion and IMDS lag follow it. */
  clock?: () => number;
  /** Seed for ids and MACs; default random. */
  seed?: number;
  /** Account id reported as owner; default `111122223333`. */
  accountId?: string;
  /** Faults to inject from the start (parse text with `parseFaultSpec`); change them later through `faults`. */
  faults?: FaultPlanSpec;
}

export interface LaunchedInstance {
  readonly instanceId: string;
  /** Base URL of this instance's IMDS, for `AWS_EC2_METADATA_SERVICE_ENDPOINT`. */
  readonly imdsUrl: string;
  readonly primaryEni: string;
  readonly primaryIp: string;
  readonly mac: string;
}

export interface AwsEmulator {
  /** Base URL of the EC2 Query API, for `AWS_ENDPOINT_URL_EC2` or the client's `endpoint`. */
  readonly ec2Url: string;
  readonly region: string;
  /** Creates a running instance with its primary ENI at device 0 and starts its IMDS listener. */
  launchInstance(opts: { instanceType: string; subnetId?: string; securityGroupIds?: string[] }): Promise<LaunchedInstance>;
  /** Deletes delete-on-termination ENIs, leaves the others `available`, stops the IMDS listener. Idempotent. */
  terminateInstance(instanceId: string): Promise<void>;
  /** The current truth (not lagged), for a test fabric. */
  topology(): EmulatorTopology;
  /** Fires after every state mutation, including a detach completing. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Calls received per action, throttled ones included. */
  callCounts(): Record<string, number>;
  /** Calls rejected with RequestLimitExceeded, per action. */
  throttledCounts(): Record<string, number>;
  resetCounts(): void;
  subnets(): { id: string; cidr: string; free: number }[];
  /**
   * Takes one address in the middle of every wholly free /28 of the subnet (default: the first),
   * as other tenants' scattered addresses would: single addresses remain, but prefix delegation
   * fails with InsufficientCidrBlocks. Returns the addresses taken.
   */
  fragmentSubnet(subnetId?: string): string[];
  /** Gives back every address fragmentSubnet took in the subnet (default: the first). */
  unfragmentSubnet(subnetId?: string): void;
  /** The injected faults: replyLost, serverError, timeout, latency, notFoundAfterCreate, throttle (see ec2-faults.ts). */
  readonly faults: EmulatorFaults;
  /** Stops every listener and timer; requests held by a fault are dropped. */
  close(): Promise<void>;
}

export async function startAwsEmulator(options: AwsEmulatorOptions = {}): Promise<AwsEmulator> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const clock = options.clock ?? Date.now;
  const detachDelayMs = options.detachDelayMs ?? 0;
  const history = new ImdsHistory(options.imdsPropagationMs ?? 0);
  const listeners = new Set<() => void>();
  const imds = new Map<string, ImdsServer>();
  const timers = new Set<NodeJS.Timeout>();
  const fragmentHolds = new Map<string, string[]>();

  const state: Ec2State = new Ec2State({
    region,
    accountId: options.accountId ?? '111122223333',
    vpcCidr: options.vpcCidr ?? '10.0.0.0/16',
    subnets: options.subnets ?? [{ cidr: '10.0.0.0/20' }],
    clock,
    ids: seededIdSource(options.seed ?? randomInt(2 ** 31)),
    detachDelayMs,
    instanceTypes: instanceTypeTable(),
    onChange: (at) => {
      for (const instance of state.instances()) {
        if (instance.state === 'running') history.record(instance.id, at, imdsInterfaces(state, instance.id));
      }
      scheduleDetachCompletion();
      for (const listener of [...listeners]) listener();
    },
  });

  /** Completes detaches on time so onChange fires then, not only on the next read. */
  function scheduleDetachCompletion(): void {
    const due = state
      .networkInterfaces()
      .flatMap((eni) => (eni.attachment?.detachCompletesAt === undefined ? [] : [eni.attachment.detachCompletesAt]));
    if (due.length === 0 || timers.size > 0) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      state.settle();
      scheduleDetachCompletion();
    }, Math.max(0, Math.min(...due) - clock()) + 1);
    timer.unref();
    timers.add(timer);
  }

  const faults = new FaultPlan(options.faults, () => randomInt(2 ** 31));
  const server = new Ec2Server({
    state,
    throttler: options.throttling === true ? new Throttler(clock) : undefined,
    latencyMs: options.latencyMs ?? {},
    faults,
    clock,
  });
  await server.start(host, options.port ?? 0);

  const toRecord = (map: Map<string, number>): Record<string, number> => Object.fromEntries(map);
  const subnetOrFirst = (subnetId: string | undefined) => (subnetId === undefined ? state.subnetRecords()[0]! : state.subnet(subnetId));
  const fragmentSubnet = (subnetId?: string): string[] => {
    const subnet = subnetOrFirst(subnetId);
    const held = fragment(subnet).map(intToIpv4);
    fragmentHolds.set(subnet.id, [...(fragmentHolds.get(subnet.id) ?? []), ...held]);
    return held;
  };
  (options.subnets ?? []).forEach((spec, i) => {
    if (spec.fragmented === true) fragmentSubnet(state.subnetRecords()[i]?.id);
  });

  return {
    ec2Url: server.url,
    region,
    async launchInstance(opts) {
      const { instance, primaryEni } = state.launchInstance(opts);
      const subnet = state.subnet(instance.subnetId);
      const listener = new ImdsServer({
        info: {
          instanceId: instance.id,
          instanceType: instance.type.name,
          imageId: instance.imageId,
          region,
          availabilityZone: instance.az,
          availabilityZoneId: subnet.azId,
          accountId: state.accountId,
          iamRole: instance.iamRole,
          launchTime: instance.launchTime,
        },
        interfaces: () => history.viewAt(instance.id, clock()) ?? [],
        clock,
      });
      await listener.start(host);
      imds.set(instance.id, listener);
      return {
        instanceId: instance.id,
        imdsUrl: listener.url,
        primaryEni: primaryEni.id,
        primaryIp: primaryEni.primaryIp,
        mac: primaryEni.mac,
      };
    },
    async terminateInstance(instanceId) {
      state.terminateInstance(instanceId);
      history.forget(instanceId);
      const listener = imds.get(instanceId);
      imds.delete(instanceId);
      await listener?.close();
    },
    topology: () => topology(state),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    callCounts: () => toRecord(server.counters.calls),
    throttledCounts: () => toRecord(server.counters.throttled),
    resetCounts: () => server.counters.reset(),
    subnets: () =>
      state.subnetRecords().map((s) => ({ id: s.id, cidr: s.allocator.cidr.text, free: s.allocator.freeCount })),
    fragmentSubnet,
    faults: emulatorFaults(faults, EC2_FAULT_KINDS, `${server.url}${FAULT_CONTROL_PATH}`),
    unfragmentSubnet(subnetId) {
      const subnet = subnetOrFirst(subnetId);
      releaseAddresses(subnet, fragmentHolds.get(subnet.id) ?? []);
      fragmentHolds.delete(subnet.id);
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      listeners.clear();
      await Promise.all([server.close(), ...[...imds.values()].map((l) => l.close())]);
      imds.clear();
    },
  };
}
