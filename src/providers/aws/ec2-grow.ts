/** Growing the node's share of the VPC: secondary addresses, /28 prefixes, and new ENIs created and attached. */
import { CloudError, type CloudInterface, type CreateInterfaceOptions } from '../../core/types.js';
import { nowOf } from './ec2-provider-options.js';
import { rememberEni, type Ec2Session } from './ec2-session.js';
import { deleteCreatedEni } from './ec2-shrink.js';
import { messageOf } from './error-mapping.js';
import { toCloudInterface } from './snapshot.js';
import { interfaceDescription, interfaceTags } from './tags.js';

/** Throws InvalidRequest with `message` unless `count` is a whole number, 0 or more. */
export function checkCount(count: number, message: string): void {
  if (!Number.isInteger(count) || count < 0) throw new CloudError('InvalidRequest', message);
}

export async function assignSecondaryIps(session: Ec2Session, interfaceId: string, count: number): Promise<string[]> {
  const known = session.knownEnis.get(interfaceId);
  const assigned = await session.ec2().assignAddresses(interfaceId, count, known?.subnetId);
  const fresh = assigned.filter((ip) => ip !== known?.primaryIp);
  if (fresh.length !== count) {
    // moto answers with every address on the ENI, not only the new ones.
    session.log.warn({ interfaceId, requested: count, answered: fresh }, 'AssignPrivateIpAddresses answer has an unexpected number of addresses');
  }
  session.log.info({ interfaceId, addresses: fresh }, 'assigned secondary addresses');
  return fresh;
}

export async function assignEniPrefixes(session: Ec2Session, interfaceId: string, count: number): Promise<string[]> {
  const known = session.knownEnis.get(interfaceId);
  const prefixes = await session.ec2().assignPrefixes(interfaceId, count, known?.subnetId);
  if (prefixes.length !== count) {
    session.log.warn({ interfaceId, requested: count, answered: prefixes }, 'AssignPrivateIpAddresses answer has an unexpected number of prefixes');
  }
  session.log.info({ interfaceId, prefixes }, 'delegated prefixes');
  return prefixes;
}

/** Creates a tagged ENI in the primary subnet and attaches it; deletes it again when the attach fails. */
export async function createAttachedEni(session: Ec2Session, options: CreateInterfaceOptions): Promise<CloudInterface> {
  const { facts, log } = session;
  const { deviceIndex, secondaryCount, prefixCount } = options;
  if (!Number.isInteger(deviceIndex) || deviceIndex < 1) {
    throw new CloudError('InvalidRequest', `device index ${deviceIndex} is not a secondary interface slot (1 or more)`);
  }
  // Only the configured cap is checked here; the instance type's own limit is EC2's to enforce.
  if (facts.limits.maxInterfaces < facts.typeLimits.maxInterfaces && deviceIndex >= facts.limits.maxInterfaces) {
    throw new CloudError(
      'InterfaceLimit',
      `instance ${facts.identity.instanceId} may use ${facts.limits.maxInterfaces} interfaces (maxEnis); device index ${deviceIndex} is beyond it`,
    );
  }
  const instanceId = facts.identity.instanceId;
  const ec2 = session.ec2();
  const eni = await ec2.createEni({
    instanceId,
    subnetId: facts.primarySubnetId,
    securityGroupIds: facts.securityGroupIds,
    secondaryCount: Math.max(0, secondaryCount),
    prefixCount,
    description: interfaceDescription(instanceId),
    tags: interfaceTags({ instanceId, createdAt: nowOf(session.options), clusterName: session.options.clusterName }),
  });
  rememberEni(session.knownEnis, eni);
  let attachmentId: string | undefined;
  try {
    attachmentId = await ec2.attachEni(eni.id, instanceId, deviceIndex);
    await ec2.setDeleteOnTermination(eni.id, attachmentId);
  } catch (error) {
    log.warn({ interfaceId: eni.id, deviceIndex, err: messageOf(error) }, 'attaching a new ENI failed; deleting it');
    await deleteCreatedEni(session, eni.id, attachmentId).catch((cleanupError: unknown) => {
      log.error({ interfaceId: eni.id, err: messageOf(cleanupError) }, 'could not delete ENI after a failed attach; it is leaked');
    });
    throw error;
  }
  log.info({ interfaceId: eni.id, deviceIndex, addresses: eni.secondaryIps }, 'created and attached ENI');
  return { ...toCloudInterface(eni, deviceIndex, facts.primarySubnetCidr), managed: true };
}
