/**
 * What the fault plan's kinds look like from ARM, and the one-shot faults of `injectFault` as plan
 * rules. Why NotFound after create: ARM reads are served by regional replicas and caches, so a GET
 * right after a create can answer 404 until the write has spread; Microsoft's advice is to wait
 * and retry (https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-not-found).
 */
import { ArmApiError } from './errors.js';
import type { AzureFault } from './faults.js';
import { FAULT_KINDS, type FaultEffect, type FaultKind, type FaultRule } from '../faults/fault-plan.js';

/** ARM knows every kind of the plan. */
export const ARM_FAULT_KINDS: readonly FaultKind[] = FAULT_KINDS;

/** Operations a one-shot fault of `injectFault` waits for: the next write (a NIC PUT for concurrentWrite). */
export function legacyRule(fault: AzureFault): FaultRule {
  const selection = { actions: fault.kind === 'concurrentWrite' ? ['PutNetworkInterface'] : ['Put*'], rate: undefined, count: 1, skip: 0 };
  return { ...fault, ...selection };
}

/** Whether a rule's effect can touch this request at all (otherwise the request does not count as matching). */
export function armFaultApplies(effect: FaultEffect, operation: string, youngResource: (windowMs: number) => boolean): boolean {
  switch (effect.kind) {
    case 'concurrentWrite':
      return operation === 'PutNetworkInterface';
    case 'failOperation':
      return operation.startsWith('Put');
    case 'notFoundAfterCreate':
      return youngResource(effect.windowMs);
    default:
      return true;
  }
}

/** The error a fired rule answers instead of running the operation; undefined for the kinds that act otherwise. */
export function armFaultError(effect: FaultEffect, operation: string, path: string): ArmApiError | undefined {
  switch (effect.kind) {
    case 'serverError':
      return effect.status === 503
        ? new ArmApiError(503, 'ServiceUnavailable', 'The service is temporarily unavailable; please retry the request (fault injected by the emulator).')
        : new ArmApiError(500, 'InternalServerError', 'Encountered internal server error (fault injected by the emulator).');
    case 'throttle':
      return new ArmApiError(429, 'SubscriptionRequestsThrottled', `Number of write requests for subscription exceeded the limit; retry after ${effect.retryAfterSec} seconds.`, effect.retryAfterSec);
    case 'anotherOperation':
      return new ArmApiError(429, 'RetryableErrorDueToAnotherOperation', `Operation ${operation} is waiting on another operation updating the resource. The call can be retried in ${effect.retryAfterSec} seconds.`, effect.retryAfterSec);
    case 'notFoundAfterCreate':
      return /\/ipconfigurations\//i.test(path)
        ? new ArmApiError(404, 'NotFound', `Resource ${path} not found.`)
        : new ArmApiError(404, 'ResourceNotFound', `The Resource '${path}' was not found.`);
    default:
      return undefined;
  }
}
