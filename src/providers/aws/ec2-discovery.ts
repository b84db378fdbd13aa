/**
 * Reading the node: its facts at the first call (identity, limits, primary subnet, security
 * groups), its snapshot from EC2 with the CIDRs of subnets not seen yet, and its observation
 * from IMDS alone.
 */
import { CloudError, type NodeObservation, type NodeSnapshot } from '../../core/types.js';
import type { Ec2Api } from './ec2-api.js';
import { Ec2Gateway } from './ec2-gateway.js';
import { DEFAULT_EC2_REQUEST_TIMEOUT_MS, type AwsProviderLogger, type Ec2ProviderOptions } from './ec2-provider-options.js';
import type { EniRecord } from './ec2-records.js';
import { Ec2RequestLimiter } from './ec2-request-limiter.js';
import { noteDeleteOnTerminationUnset, resolveUnfinished, settleDeleteOnTermination } from './ec2-resume.js';
import { rememberEni, type Ec2Session, type NodeFacts } from './ec2-session.js';
import { mapImdsError, messageOf } from './error-mapping.js';
import type { ImdsApi } from './imds-api.js';
import {
  listMacs,
  readIdentity,
  readMacAddresses,
  readMacFacts,
  readVpcCidrs,
  type ImdsIdentity,
  type ImdsMacFacts,
} from './node-discovery.js';
import { adoptsEni, attachedEnis, buildSnapshot, capLimits, missingSubnets } from './snapshot.js';

/** What IMDS tells about the node at discovery. */
export interface ImdsNode {
  readonly identity: ImdsIdentity;
  /** Every attached interface's facts. */
  readonly macs: readonly ImdsMacFacts[];
  /** The primary interface's facts. */
  readonly primary: ImdsMacFacts;
}

/** Reads the identity and every interface from IMDS; IMDS failures become CloudErrors. */
export async function readImdsNode(imds: ImdsApi, region: string | undefined): Promise<ImdsNode> {
  let identity: ImdsIdentity;
  let macs: ImdsMacFacts[];
  try {
    identity = await readIdentity(imds, region);
    macs = await Promise.all((await listMacs(imds)).map((mac) => readMacFacts(imds, mac)));
  } catch (error) {
    throw mapImdsError(error);
  }
  const primary = macs.find((entry) => entry.mac === identity.primaryMac);
  if (primary === undefined) {
    throw new CloudError('NotFound', `IMDS lists no interface for the primary MAC ${identity.primaryMac}`);
  }
  return { identity, macs, primary };
}

export function newEc2Gateway(region: string, options: Ec2ProviderOptions): Ec2Gateway {
  return new Ec2Gateway({
    region,
    endpoint: options.ec2Endpoint,
    credentials: options.credentials,
    maxAttempts: options.maxAttempts ?? 3,
    requestTimeoutMs: options.ec2RequestTimeoutMs ?? DEFAULT_EC2_REQUEST_TIMEOUT_MS,
    limiter: options.requestLimiter === false ? undefined : (options.requestLimiter ?? new Ec2RequestLimiter()),
    observer: options.apiObserver,
  });
}

/** Completes the node's facts with the instance type's limits from EC2, capped by maxEnis. */
export async function nodeFactsOf(
  node: ImdsNode,
  gateway: Ec2Api,
  maxEnis: number | undefined,
  log: AwsProviderLogger,
): Promise<NodeFacts> {
  const { identity, primary } = node;
  const typeLimits = await gateway.describeInstanceLimits(identity.instanceType);
  const limits = capLimits(typeLimits, maxEnis);
  log.info({ instanceId: identity.instanceId, instanceType: identity.instanceType, region: identity.region, limits }, 'discovered node');
  return {
    identity,
    limits,
    typeLimits,
    primarySubnetId: primary.subnetId,
    primarySubnetCidr: primary.subnetCidr,
    securityGroupIds: primary.securityGroupIds,
  };
}

/**
 * The node as EC2 shows it. On the way, with the same describe: finishes ENI work a crash left
 * (ec2-resume.ts) and sets DeleteOnTermination on any ENI of ours attached without it.
 */
export async function describeNodeSnapshot(session: Ec2Session): Promise<NodeSnapshot> {
  const { facts, imds } = session;
  const ec2 = session.ec2();
  const [vpcCidrs, enis] = await Promise.all([
    readVpcCidrs(imds, facts.identity.primaryMac).catch((error: unknown) => {
      throw mapImdsError(error);
    }),
    ec2.describeInstanceEnis(facts.identity.instanceId),
  ]);
  await resolveUnfinished(session, enis);
  noteDeleteOnTerminationUnset(session, enis);
  await settleDeleteOnTermination(session);
  const attached = attachedEnis(enis, facts.identity.instanceId);
  await learnSubnets(session, attached);
  for (const eni of attached) {
    if (!session.knownEnis.has(eni.id) && adoptsEni(eni, facts.identity.instanceId)) {
      session.log.info(
        { interfaceId: eni.id, deviceIndex: eni.attachment?.deviceIndex, addresses: eni.secondaryIps.length },
        'adopting an ENI the AWS VPC CNI made for this instance: its free addresses join the pool; nativeip never detaches or deletes it (it goes with the instance)',
      );
    }
    rememberEni(session.knownEnis, eni);
  }
  return buildSnapshot({
    instanceId: facts.identity.instanceId,
    instanceType: facts.identity.instanceType,
    localIpv4: facts.identity.localIpv4,
    vpcCidrs,
    limits: facts.limits,
    enis: attached,
    subnetCidrs: session.subnetCidrs,
  });
}

/** Fills in subnet CIDRs for ENIs in subnets not seen yet: IMDS first, then DescribeSubnets. */
async function learnSubnets(session: Ec2Session, enis: readonly EniRecord[]): Promise<void> {
  const { subnetCidrs } = session;
  const missing = missingSubnets(enis, subnetCidrs);
  if (missing.length === 0) return;
  for (const subnetId of missing) {
    const eni = enis.find((entry) => entry.subnetId === subnetId);
    if (eni === undefined) continue;
    try {
      const facts = await readMacFacts(session.imds, eni.mac);
      subnetCidrs.set(facts.subnetId, facts.subnetCidr);
    } catch (error) {
      session.log.debug({ interfaceId: eni.id, err: messageOf(error) }, 'ENI not in IMDS yet; asking EC2 for its subnet');
    }
  }
  const stillMissing = missingSubnets(enis, subnetCidrs);
  if (stillMissing.length === 0) return;
  for (const [subnetId, cidr] of await session.ec2().describeSubnetCidrs(stillMissing)) subnetCidrs.set(subnetId, cidr);
}

/** The attached ENIs with their addresses and prefixes, and the VPC's CIDRs, from IMDS alone. */
export async function observeNodeFromImds(session: Ec2Session): Promise<NodeObservation> {
  const { imds, facts } = session;
  try {
    const macs = await listMacs(imds);
    const [interfaces, vpcCidrs] = await Promise.all([
      Promise.all(macs.map((mac) => readMacAddresses(imds, mac))),
      readVpcCidrs(imds, facts.identity.primaryMac),
    ]);
    return {
      interfaces: interfaces.map((entry) => ({
        mac: entry.mac,
        deviceIndex: entry.deviceIndex,
        id: entry.interfaceId,
        addresses: entry.localIpv4s,
        prefixes: entry.ipv4Prefixes,
      })),
      vpcCidrs,
    };
  } catch (error) {
    throw mapImdsError(error);
  }
}
