/**
 * The provider's {@link Ec2Api} over the AWS SDK: one EC2 action per method, SDK output decoded
 * into plain records, every failure mapped to a CloudError. The only file that touches the SDK
 * client.
 */
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DeleteNetworkInterfaceCommand,
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  DetachNetworkInterfaceCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  UnassignPrivateIpAddressesCommand,
  type EC2ClientConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import type { CloudApiObserver } from '../../core/cloud-plugin.js';
import type { FinalizeRequestMiddleware } from '@smithy/types';
import { CloudError, type InterfaceLimits } from '../../core/types.js';
import {
  decodeAssignedAddresses,
  decodeAssignedPrefixes,
  decodeInstanceLimits,
  decodeNetworkInterface,
  type EniRecord,
} from './ec2-records.js';
import { decodeError, mapEc2Error, type Ec2ErrorContext } from './error-mapping.js';
import { availableTaggedFilters, describeInstanceStates } from './ec2-queries.js';
import { requestClassOf, type Ec2RequestLimiter } from './ec2-request-limiter.js';
import type { CreateEniRequest, Ec2Api } from './ec2-api.js';

export type { CreateEniRequest } from './ec2-api.js';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface Ec2GatewayOptions {
  readonly region: string;
  readonly endpoint?: string | undefined;
  readonly credentials?: AwsCredentials | undefined;
  readonly maxAttempts: number;
  /**
   * Longest wait for one HTTP attempt's answer (connection, request and response headers); then
   * the attempt fails with TimeoutError, which the SDK retries and maps to Transient.
   */
  readonly requestTimeoutMs: number;
  /** Client-side mirror of EC2's request buckets; every attempt waits for its token. None: unlimited. */
  readonly limiter?: Ec2RequestLimiter | undefined;
  /** Told of every HTTP attempt as it ends (metrics). */
  readonly observer?: CloudApiObserver | undefined;
}

/** Pages DescribeNetworkInterfaces follows at most; an instance has at most ~50 ENIs. */
const MAX_PAGES = 20;

export class Ec2Gateway implements Ec2Api {
  private readonly client: EC2Client;
  private readonly limiter: Ec2RequestLimiter | undefined;

  constructor(options: Ec2GatewayOptions) {
    this.limiter = options.limiter;
    const config: EC2ClientConfig = {
      region: options.region,
      maxAttempts: options.maxAttempts,
      // Why throwOnRequestTimeout: without it @smithy/node-http-handler only logs a warning when
      // requestTimeout passes and keeps waiting, so a request EC2 never answers hangs for ever.
      requestHandler: { requestTimeout: options.requestTimeoutMs, throwOnRequestTimeout: true },
    };
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    if (options.credentials !== undefined) {
      const { accessKeyId, secretAccessKey, sessionToken } = options.credentials;
      config.credentials =
        sessionToken === undefined ? { accessKeyId, secretAccessKey } : { accessKeyId, secretAccessKey, sessionToken };
    }
    this.client = new EC2Client(config);
    if (options.limiter !== undefined) this.limitRequests(options.limiter);
    if (options.observer !== undefined) this.observeRequests(options.observer);
  }

  /** Reports each attempt, the SDK's retries included, after the limiter let it go (its wait is not the API's). */
  private observeRequests(observer: CloudApiObserver): void {
    const middleware: FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => async (args) => {
      const api = (context.commandName ?? '').replace(/Command$/, '');
      const started = performance.now();
      try {
        const out = await next(args);
        observer(api, performance.now() - started, 'ok');
        return out;
      } catch (error) {
        observer(api, performance.now() - started, decodeError(error).code === 'RequestLimitExceeded' ? 'throttled' : 'error');
        throw error;
      }
    };
    this.client.middlewareStack.addRelativeTo(middleware, {
      relation: 'before',
      toMiddleware: 'httpSigningMiddleware',
      name: 'nativeipRequestObserver',
      override: true,
    });
  }

  /** When EC2 last throttled one of this node's ENI-mutation or attach/detach requests (even one a retry then got through). */
  get lastThrottledAtMs(): number | undefined {
    return this.limiter?.lastThrottledAtMs;
  }

  /**
   * Every HTTP attempt, the SDK's own retries included, waits for a token of its class before it
   * is signed and sent. How the retry layers compose, innermost first:
   * 1. this limiter: this node alone never sends faster than EC2's published buckets admit
   *    (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html);
   * 2. the SDK's standard retry mode (`maxAttempts`, 3 by default): a RequestLimitExceeded, which
   *    now means other nodes drained the account's bucket, is retried after a full-jitter delay of
   *    up to 1 s, then 2 s (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html),
   *    and empties this node's bucket of that class so its next requests wait for the refill;
   * 3. the pool (PoolManager): when the SDK gives up, growth pauses with equal-jitter exponential
   *    backoff (1 s doubling to 60 s) and pods are told why and for how long (CNI "try again later").
   */
  private limitRequests(limiter: Ec2RequestLimiter): void {
    const middleware: FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => async (args) => {
      const action = (context.commandName ?? '').replace(/Command$/, '');
      const requestClass = requestClassOf(action, args.input);
      await limiter.acquire(requestClass);
      try {
        return await next(args);
      } catch (error) {
        if (decodeError(error).code === 'RequestLimitExceeded') limiter.throttled(requestClass);
        throw error;
      }
    };
    this.client.middlewareStack.addRelativeTo(middleware, {
      relation: 'before',
      toMiddleware: 'httpSigningMiddleware',
      name: 'nativeipRequestLimiter',
      override: true,
    });
  }

  destroy(): void {
    this.client.destroy();
  }

  private async call<T>(context: Ec2ErrorContext, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw mapEc2Error(error, context);
    }
  }

  describeInstanceLimits(instanceType: string): Promise<InterfaceLimits> {
    return this.call({ action: 'DescribeInstanceTypes' }, async () => {
      const out = await this.client.send(
        new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as _InstanceType] }),
      );
      const info = out.InstanceTypes?.find((entry) => entry.InstanceType === instanceType) ?? out.InstanceTypes?.[0];
      return decodeInstanceLimits(info, instanceType);
    });
  }

  /** All ENIs EC2 reports as attached to the instance. */
  describeInstanceEnis(instanceId: string): Promise<EniRecord[]> {
    const action = 'DescribeNetworkInterfaces';
    return this.call({ action, instanceId }, async () => {
      const enis: EniRecord[] = [];
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const out = await this.client.send(
          new DescribeNetworkInterfacesCommand({
            Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }],
            ...(nextToken === undefined ? {} : { NextToken: nextToken }),
          }),
        );
        for (const eni of out.NetworkInterfaces ?? []) enis.push(decodeNetworkInterface(eni, action));
        nextToken = out.NextToken === '' ? undefined : out.NextToken;
        if (nextToken === undefined) break;
      }
      return enis;
    });
  }

  /** One ENI by id; undefined when EC2 does not know it. */
  async describeEni(interfaceId: string): Promise<EniRecord | undefined> {
    const action = 'DescribeNetworkInterfaces';
    try {
      return await this.call({ action, interfaceId }, async () => {
        const out = await this.client.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [interfaceId] }));
        const eni = out.NetworkInterfaces?.find((entry) => entry.NetworkInterfaceId === interfaceId);
        return eni === undefined ? undefined : decodeNetworkInterface(eni, action);
      });
    } catch (error) {
      if (error instanceof CloudError && error.code === 'NotFound') return undefined;
      throw error;
    }
  }

  describeSubnetCidrs(subnetIds: readonly string[]): Promise<Map<string, string>> {
    return this.call({ action: 'DescribeSubnets', subnetId: subnetIds.join(',') }, async () => {
      const out = await this.client.send(new DescribeSubnetsCommand({ SubnetIds: [...subnetIds] }));
      const cidrs = new Map<string, string>();
      for (const subnet of out.Subnets ?? []) {
        if (subnet.SubnetId !== undefined && subnet.CidrBlock !== undefined) cidrs.set(subnet.SubnetId, subnet.CidrBlock);
      }
      return cidrs;
    });
  }

  assignAddresses(interfaceId: string, count: number, subnetId: string | undefined): Promise<string[]> {
    const context = { action: 'AssignPrivateIpAddresses', interfaceId, ...(subnetId === undefined ? {} : { subnetId }) };
    return this.call(context, async () => {
      const out = await this.client.send(
        new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: interfaceId, SecondaryPrivateIpAddressCount: count }),
      );
      return decodeAssignedAddresses(out.AssignedPrivateIpAddresses);
    });
  }

  /** Delegates `count` /28 prefixes; returns the new prefixes. */
  assignPrefixes(interfaceId: string, count: number, subnetId: string | undefined): Promise<string[]> {
    const context = { action: 'AssignPrivateIpAddresses', interfaceId, ...(subnetId === undefined ? {} : { subnetId }) };
    return this.call(context, async () => {
      const out = await this.client.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: interfaceId, Ipv4PrefixCount: count }));
      return decodeAssignedPrefixes(out.AssignedIpv4Prefixes);
    });
  }

  unassignPrefixes(interfaceId: string, prefixes: readonly string[]): Promise<void> {
    return this.call({ action: 'UnassignPrivateIpAddresses', interfaceId }, async () => {
      await this.client.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: interfaceId, Ipv4Prefixes: [...prefixes] }));
    });
  }

  /** Detached (`available`) ENIs carrying every tag in `tags` (a value of `*` matches any value). */
  describeAvailableTagged(tags: ReadonlyMap<string, string>): Promise<EniRecord[]> {
    const action = 'DescribeNetworkInterfaces';
    return this.call({ action }, async () => {
      const filters = availableTaggedFilters(tags).map((filter) => ({ Name: filter.name, Values: [...filter.values] }));
      const enis: EniRecord[] = [];
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const out = await this.client.send(
          new DescribeNetworkInterfacesCommand({ Filters: filters, MaxResults: 1000, ...(nextToken === undefined ? {} : { NextToken: nextToken }) }),
        );
        for (const eni of out.NetworkInterfaces ?? []) enis.push(decodeNetworkInterface(eni, action));
        nextToken = out.NextToken === '' ? undefined : out.NextToken;
        if (nextToken === undefined) break;
      }
      return enis;
    });
  }

  /** The state of each instance EC2 still knows (ec2-queries.ts: asked one by one when one id is unknown). */
  instanceStates(instanceIds: readonly string[]): Promise<Map<string, string>> {
    const action = 'DescribeInstances';
    return describeInstanceStates(instanceIds, (ids) =>
      this.call({ action, instanceId: ids.join(',') }, async () => {
        const out = await this.client.send(new DescribeInstancesCommand({ InstanceIds: [...ids] }));
        return (out.Reservations ?? []).flatMap((reservation) =>
          (reservation.Instances ?? []).flatMap((instance) =>
            instance.InstanceId === undefined ? [] : [[instance.InstanceId, instance.State?.Name ?? 'unknown'] as const],
          ),
        );
      }),
    );
  }

  unassignAddresses(interfaceId: string, addresses: readonly string[]): Promise<void> {
    return this.call({ action: 'UnassignPrivateIpAddresses', interfaceId }, async () => {
      await this.client.send(
        new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: interfaceId, PrivateIpAddresses: [...addresses] }),
      );
    });
  }

  createEni(request: CreateEniRequest): Promise<EniRecord> {
    const action = 'CreateNetworkInterface';
    return this.call({ action, instanceId: request.instanceId, subnetId: request.subnetId }, async () => {
      const out = await this.client.send(
        new CreateNetworkInterfaceCommand({
          SubnetId: request.subnetId,
          Groups: [...request.securityGroupIds],
          Description: request.description,
          ...(request.clientToken === undefined ? {} : { ClientToken: request.clientToken }),
          ...(request.secondaryCount > 0 ? { SecondaryPrivateIpAddressCount: request.secondaryCount } : {}),
          ...((request.prefixCount ?? 0) > 0 ? { Ipv4PrefixCount: request.prefixCount } : {}),
          TagSpecifications: [
            {
              ResourceType: 'network-interface',
              Tags: request.tags.map((tag) => ({ Key: tag.key, Value: tag.value })),
            },
          ],
        }),
      );
      if (out.NetworkInterface === undefined) {
        throw mapEc2Error(new Error('no NetworkInterface in the answer'), { action });
      }
      return decodeNetworkInterface(out.NetworkInterface, action);
    });
  }

  /** Attaches an ENI on network card 0 and returns the attachment id. */
  attachEni(interfaceId: string, instanceId: string, deviceIndex: number): Promise<string> {
    const action = 'AttachNetworkInterface';
    return this.call({ action, interfaceId, instanceId }, async () => {
      const out = await this.client.send(
        new AttachNetworkInterfaceCommand({
          NetworkInterfaceId: interfaceId,
          InstanceId: instanceId,
          DeviceIndex: deviceIndex,
          NetworkCardIndex: 0,
        }),
      );
      if (out.AttachmentId === undefined || out.AttachmentId === '') {
        throw mapEc2Error(new Error('no AttachmentId in the answer'), { action, interfaceId });
      }
      return out.AttachmentId;
    });
  }

  setDeleteOnTermination(interfaceId: string, attachmentId: string): Promise<void> {
    return this.call({ action: 'ModifyNetworkInterfaceAttribute', interfaceId }, async () => {
      await this.client.send(
        new ModifyNetworkInterfaceAttributeCommand({
          NetworkInterfaceId: interfaceId,
          Attachment: { AttachmentId: attachmentId, DeleteOnTermination: true },
        }),
      );
    });
  }

  detachEni(interfaceId: string, attachmentId: string): Promise<void> {
    return this.call({ action: 'DetachNetworkInterface', interfaceId }, async () => {
      await this.client.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachmentId }));
    });
  }

  deleteEni(interfaceId: string): Promise<void> {
    return this.call({ action: 'DeleteNetworkInterface', interfaceId }, async () => {
      await this.client.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: interfaceId }));
    });
  }
}
