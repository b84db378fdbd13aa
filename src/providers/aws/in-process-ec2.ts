/**
 * The AWS provider's seams (Ec2Api, ImdsApi) on an EC2 account run in-process ({@link InProcessEc2}:
 * the EC2 emulator's state model on simulated time), for the simulators: what the SDK and HTTP do
 * for the real daemon, done without a wire. Each attempt of a call waits for a token of the node's
 * own client-side limiter (the provider's Ec2RequestLimiter, as its SDK middleware does), then goes
 * to the account; an attempt EC2 throttles empties the node's bucket of that class and is retried
 * as the SDK's standard mode does (3 attempts, full jitter from 1 s for throttling, 100 ms
 * otherwise); the last failure is mapped by the provider's own error mapping, so the provider sees
 * exactly the CloudErrors its SDK gateway would give it. Holds no provider logic of its own.
 */
import { CloudError, type InterfaceLimits } from '../../core/types.js';
import type { CreateEniRequest, Ec2Api } from './ec2-api.js';
import { availableTaggedFilters, describeInstanceStates, type Ec2Filter } from './ec2-queries.js';
import type { EniRecord } from './ec2-records.js';
import { requestClassOf, type Ec2RequestLimiter } from './ec2-request-limiter.js';
import { ImdsError, mapEc2Error, type Ec2ErrorContext } from './error-mapping.js';
import type { ImdsApi } from './imds-api.js';

/**
 * An EC2 account in-process, as this adapter calls it: one method per EC2 action, answers in EC2's
 * shapes, failures thrown as {@link Ec2Failure} or {@link Ec2Silence}. The EC2 emulator's backend
 * (src/emulator/aws/ec2-backend.ts) is one. Declared here, by its consumer, because a provider never
 * imports an emulator; test/unit/in-process-clouds.test.ts checks the emulator's backend fits.
 */
export interface InProcessEc2 {
  describeInstanceTypes(names: readonly string[]): Promise<readonly { readonly name: string; readonly vcpus: number | undefined; readonly maxInterfaces: number; readonly ipv4PerInterface: number }[]>;
  describeNetworkInterfaces(request: { readonly ids?: readonly string[]; readonly filters?: readonly Ec2Filter[] }): Promise<EniRecord[]>;
  describeSubnets(ids: readonly string[]): Promise<readonly { readonly id: string; readonly cidr: string }[]>;
  describeInstances(ids: readonly string[]): Promise<readonly { readonly id: string; readonly state: string }[]>;
  assignPrivateIpAddresses(request: { readonly eniId: string; readonly count?: number; readonly ipv4PrefixCount?: number }): Promise<string[]>;
  unassignPrivateIpAddresses(request: { readonly eniId: string; readonly addresses?: readonly string[]; readonly prefixes?: readonly string[] }): Promise<void>;
  createNetworkInterface(request: {
    readonly subnetId: string;
    readonly description?: string;
    readonly securityGroupIds?: readonly string[];
    readonly secondaryCount?: number;
    readonly ipv4PrefixCount?: number;
    readonly tags?: readonly { readonly key: string; readonly value: string }[];
    readonly clientToken?: string;
  }): Promise<EniRecord>;
  attachNetworkInterface(request: { readonly eniId: string; readonly instanceId: string; readonly deviceIndex: number; readonly networkCardIndex?: number }): Promise<string>;
  modifyNetworkInterfaceAttribute(request: { readonly eniId: string; readonly attachment: { readonly attachmentId: string; readonly deleteOnTermination: boolean } }): Promise<void>;
  detachNetworkInterface(attachmentId: string): Promise<void>;
  deleteNetworkInterface(eniId: string): Promise<void>;
  /** One GET of the instance's IMDS. */
  imdsGet(instanceId: string, path: string): Promise<{ readonly status: number; readonly body: string }>;
}

/** EC2's error answer as an in-process EC2 throws it: EC2's code and the response's HTTP status. */
interface Ec2Failure {
  readonly code: string;
  readonly httpStatus: number;
  readonly message: string;
}

/** No answer at all: the reply was lost (`reset`) or the client gave up (`timeout`). */
interface Ec2Silence {
  readonly reason: 'reset' | 'timeout';
  readonly message: string;
}

function isFailure(error: unknown): error is Ec2Failure {
  return error instanceof Error && typeof (error as Partial<Ec2Failure>).code === 'string' && typeof (error as Partial<Ec2Failure>).httpStatus === 'number';
}

function isSilence(error: unknown): error is Ec2Silence {
  const reason = error instanceof Error ? (error as Partial<Ec2Silence>).reason : undefined;
  return reason === 'reset' || reason === 'timeout';
}

/** The SDK's standard retry mode: attempts per call, the first included. */
const SDK_MAX_ATTEMPTS = 3;
/** Base delays of the SDK's retries (@smithy/util-retry, v3.1169): throttling, and anything else retryable. */
const SDK_THROTTLING_DELAY_MS = 1_000;
const SDK_DELAY_MS = 100;
const SDK_MAX_DELAY_MS = 20_000;
/** Every describe the provider makes names its instance, ENIs, subnets or tags: EC2's "filtered" class. */
const FILTERED = { Filters: ['filtered'] };
/** The time a throttled answer that ends the SDK's attempts takes to reach the node. */
const FINAL_THROTTLE_ANSWER_MS = 50;
const THROTTLING_CODES: ReadonlySet<string> = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException']);

export interface InProcessEc2ApiOptions {
  readonly backend: InProcessEc2;
  readonly sleep: (ms: number) => Promise<void>;
  /** Draws of the retries' jitter, in [0, 1). */
  readonly random: () => number;
  /** The node's client-side limiter (the provider's default is one on EC2's figures). Absent: none. */
  readonly limiter?: Ec2RequestLimiter;
  readonly maxAttempts?: number;
}

/** What the SDK would throw for the emulator's answer: a service exception named by EC2's code, or a Node network error. */
function sdkErrorOf(error: unknown): unknown {
  if (isFailure(error)) return Object.assign(new Error(error.message), { name: error.code, $metadata: { httpStatusCode: error.httpStatus } });
  if (isSilence(error)) {
    return error.reason === 'reset' ? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) : Object.assign(new Error(error.message), { name: 'TimeoutError' });
  }
  return error;
}

function retryable(error: unknown): 'throttling' | 'transient' | undefined {
  if (isFailure(error)) {
    if (THROTTLING_CODES.has(error.code)) return 'throttling';
    return error.httpStatus >= 500 ? 'transient' : undefined;
  }
  return isSilence(error) ? 'transient' : undefined;
}

/** One node's EC2 client. */
export class InProcessEc2Api implements Ec2Api {
  readonly #options: InProcessEc2ApiOptions;

  constructor(options: InProcessEc2ApiOptions) {
    this.#options = options;
  }

  get lastThrottledAtMs(): number | undefined {
    return this.#options.limiter?.lastThrottledAtMs;
  }

  destroy(): void {}

  async #send<T>(context: Ec2ErrorContext, call: () => Promise<T>): Promise<T> {
    const { limiter, sleep, random } = this.#options;
    const requestClass = requestClassOf(context.action, FILTERED);
    const attempts = this.#options.maxAttempts ?? SDK_MAX_ATTEMPTS;
    for (let attempt = 1; ; attempt += 1) {
      await limiter?.acquire(requestClass);
      try {
        return await call();
      } catch (error) {
        const kind = retryable(error);
        if (kind === 'throttling') limiter?.throttled(requestClass);
        if (kind === undefined || attempt >= attempts) {
          if (kind === 'throttling') await sleep(FINAL_THROTTLE_ANSWER_MS);
          throw mapEc2Error(sdkErrorOf(error), context);
        }
        const base = kind === 'throttling' ? SDK_THROTTLING_DELAY_MS : SDK_DELAY_MS;
        await sleep(random() * Math.min(SDK_MAX_DELAY_MS, base * 2 ** (attempt - 1)));
      }
    }
  }

  async describeInstanceLimits(instanceType: string): Promise<InterfaceLimits> {
    const types = await this.#send({ action: 'DescribeInstanceTypes' }, () => this.#options.backend.describeInstanceTypes([instanceType]));
    const type = types.find((t) => t.name === instanceType);
    if (type === undefined) throw new CloudError('NotFound', `DescribeInstanceTypes: instance type ${instanceType} not found`);
    const limits = { maxInterfaces: type.maxInterfaces, ipv4PerInterface: type.ipv4PerInterface };
    return type.vcpus === undefined ? limits : { ...limits, vcpus: type.vcpus };
  }

  describeInstanceEnis(instanceId: string): Promise<EniRecord[]> {
    return this.#send({ action: 'DescribeNetworkInterfaces', instanceId }, () =>
      this.#options.backend.describeNetworkInterfaces({ filters: [{ name: 'attachment.instance-id', values: [instanceId] }] }),
    );
  }

  async describeEni(interfaceId: string): Promise<EniRecord | undefined> {
    try {
      const [eni] = await this.#send({ action: 'DescribeNetworkInterfaces', interfaceId }, () => this.#options.backend.describeNetworkInterfaces({ ids: [interfaceId] }));
      return eni;
    } catch (error) {
      if (error instanceof CloudError && error.code === 'NotFound') return undefined;
      throw error;
    }
  }

  async describeSubnetCidrs(subnetIds: readonly string[]): Promise<Map<string, string>> {
    const subnets = await this.#send({ action: 'DescribeSubnets', subnetId: subnetIds.join(',') }, () => this.#options.backend.describeSubnets(subnetIds));
    return new Map(subnets.map((s) => [s.id, s.cidr]));
  }

  describeAvailableTagged(tags: ReadonlyMap<string, string>): Promise<EniRecord[]> {
    const filters = availableTaggedFilters(tags);
    return this.#send({ action: 'DescribeNetworkInterfaces' }, () => this.#options.backend.describeNetworkInterfaces({ filters }));
  }

  instanceStates(instanceIds: readonly string[]): Promise<Map<string, string>> {
    return describeInstanceStates(instanceIds, async (ids) => {
      const found = await this.#send({ action: 'DescribeInstances', instanceId: ids.join(',') }, () => this.#options.backend.describeInstances(ids));
      return found.map((instance) => [instance.id, instance.state] as const);
    });
  }

  assignAddresses(interfaceId: string, count: number, subnetId: string | undefined): Promise<string[]> {
    const context = { action: 'AssignPrivateIpAddresses', interfaceId, ...(subnetId === undefined ? {} : { subnetId }) };
    return this.#send(context, () => this.#options.backend.assignPrivateIpAddresses({ eniId: interfaceId, count }));
  }

  assignPrefixes(interfaceId: string, count: number, subnetId: string | undefined): Promise<string[]> {
    const context = { action: 'AssignPrivateIpAddresses', interfaceId, ...(subnetId === undefined ? {} : { subnetId }) };
    return this.#send(context, () => this.#options.backend.assignPrivateIpAddresses({ eniId: interfaceId, ipv4PrefixCount: count }));
  }

  unassignAddresses(interfaceId: string, addresses: readonly string[]): Promise<void> {
    return this.#send({ action: 'UnassignPrivateIpAddresses', interfaceId }, () => this.#options.backend.unassignPrivateIpAddresses({ eniId: interfaceId, addresses }));
  }

  unassignPrefixes(interfaceId: string, prefixes: readonly string[]): Promise<void> {
    return this.#send({ action: 'UnassignPrivateIpAddresses', interfaceId }, () => this.#options.backend.unassignPrivateIpAddresses({ eniId: interfaceId, prefixes }));
  }

  createEni(request: CreateEniRequest): Promise<EniRecord> {
    const context = { action: 'CreateNetworkInterface', instanceId: request.instanceId, subnetId: request.subnetId };
    return this.#send(context, () =>
      this.#options.backend.createNetworkInterface({
        subnetId: request.subnetId,
        securityGroupIds: request.securityGroupIds,
        description: request.description,
        ...(request.clientToken === undefined ? {} : { clientToken: request.clientToken }),
        ...(request.secondaryCount > 0 ? { secondaryCount: request.secondaryCount } : {}),
        ...(request.prefixCount !== undefined && request.prefixCount > 0 ? { ipv4PrefixCount: request.prefixCount } : {}),
        tags: request.tags,
      }),
    );
  }

  attachEni(interfaceId: string, instanceId: string, deviceIndex: number): Promise<string> {
    return this.#send({ action: 'AttachNetworkInterface', interfaceId, instanceId }, () =>
      this.#options.backend.attachNetworkInterface({ eniId: interfaceId, instanceId, deviceIndex, networkCardIndex: 0 }),
    );
  }

  setDeleteOnTermination(interfaceId: string, attachmentId: string): Promise<void> {
    return this.#send({ action: 'ModifyNetworkInterfaceAttribute', interfaceId }, () =>
      this.#options.backend.modifyNetworkInterfaceAttribute({ eniId: interfaceId, attachment: { attachmentId, deleteOnTermination: true } }),
    );
  }

  detachEni(interfaceId: string, attachmentId: string): Promise<void> {
    return this.#send({ action: 'DetachNetworkInterface', interfaceId }, () => this.#options.backend.detachNetworkInterface(attachmentId));
  }

  deleteEni(interfaceId: string): Promise<void> {
    return this.#send({ action: 'DeleteNetworkInterface', interfaceId }, () => this.#options.backend.deleteNetworkInterface(interfaceId));
  }
}

/** One instance's IMDS, read in-process: what ImdsClient does over HTTP (session tokens are not modelled). */
export class InProcessImds implements ImdsApi {
  readonly #backend: InProcessEc2;
  readonly #instanceId: string;

  constructor(backend: InProcessEc2, instanceId: string) {
    this.#backend = backend;
    this.#instanceId = instanceId;
  }

  async get(path: string): Promise<string> {
    const answer = await this.#backend.imdsGet(this.#instanceId, path);
    if (answer.status !== 200) throw new ImdsError(path, answer.status, answer.body.trim());
    return answer.body.trim();
  }

  async getLines(path: string): Promise<string[]> {
    return (await this.get(path))
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
  }
}
