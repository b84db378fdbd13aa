/**
 * An interface's attachment lifecycle: EC2's attach checks, new attachments, and detaches that
 * stay `detaching` for a while before the interface is `available`. Pure.
 */
import type { AttachmentRecord, EniRecord, InstanceRecord } from './ec2-model.js';
import { Ec2ApiError, invalidParameterValue, ipLimitExceeded } from './errors.js';
import { slotsUsed } from './eni-assignment.js';

export interface AttachCheck {
  readonly eni: EniRecord;
  readonly instance: InstanceRecord;
  /** Availability zone of the interface's subnet. */
  readonly eniAz: string;
  /** Interfaces attached (or detaching) to the instance. */
  readonly attached: readonly EniRecord[];
  readonly deviceIndex: number;
  readonly networkCardIndex: number;
}

/** Throws EC2's error for the first reason the interface cannot be attached, in EC2's order. */
export function checkAttachable(check: AttachCheck): void {
  const { eni, instance, attached, deviceIndex, networkCardIndex } = check;
  if (instance.state !== 'running') {
    throw new Ec2ApiError('IncorrectInstanceState', `The instance '${instance.id}' is not in a valid state for this operation.`);
  }
  if (eni.attachment !== undefined) {
    throw new Ec2ApiError('InvalidNetworkInterface.InUse', `Interface: [${eni.id}] in use.`);
  }
  if (networkCardIndex >= instance.type.networkCards) {
    throw invalidParameterValue(`Network card index ${networkCardIndex} is not supported by instance type ${instance.type.name}.`);
  }
  if (check.eniAz !== instance.az) {
    throw new Ec2ApiError(
      'InvalidParameterCombination',
      `You may not attach a network interface to an instance if they are not in the same availability zone`,
    );
  }
  if (attached.some((e) => e.attachment?.deviceIndex === deviceIndex)) {
    throw invalidParameterValue(`Instance '${instance.id}' already has an interface attached at device index '${deviceIndex}'.`);
  }
  if (attached.length >= instance.type.maxInterfaces) {
    throw new Ec2ApiError('AttachmentLimitExceeded', `Interface count ${attached.length + 1} exceeds the limit for ${instance.type.name}`);
  }
  if (slotsUsed(eni) > instance.type.ipv4PerInterface) throw ipLimitExceeded();
}

export type AttachmentPlacement = Pick<AttachmentRecord, 'instanceId' | 'deviceIndex' | 'networkCardIndex' | 'deleteOnTermination'>;

export function newAttachment(id: string, at: number, placement: AttachmentPlacement): AttachmentRecord {
  return {
    id,
    instanceId: placement.instanceId,
    deviceIndex: placement.deviceIndex,
    networkCardIndex: placement.networkCardIndex,
    attachTime: at,
    status: 'attached',
    deleteOnTermination: placement.deleteOnTermination,
    detachCompletesAt: undefined,
  };
}

/**
 * Starts a detach that completes `delayMs` after `now`; refuses device index 0. Returns false,
 * changing nothing, when the detach had already started.
 */
export function startDetach(attachment: AttachmentRecord, now: number, delayMs: number): boolean {
  if (attachment.deviceIndex === 0) {
    throw new Ec2ApiError('OperationNotPermitted', 'The network interface at device index 0 cannot be detached.');
  }
  if (attachment.status === 'detaching') return false;
  attachment.status = 'detaching';
  attachment.detachCompletesAt = now + delayMs;
  return true;
}

/** Interfaces whose detach has completed by `now`, earliest completion first. */
export function dueDetaches(enis: Iterable<EniRecord>, now: number): EniRecord[] {
  return [...enis]
    .filter((eni) => eni.attachment?.detachCompletesAt !== undefined && eni.attachment.detachCompletesAt <= now)
    .sort((a, b) => (a.attachment?.detachCompletesAt ?? 0) - (b.attachment?.detachCompletesAt ?? 0));
}
