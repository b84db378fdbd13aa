/**
 * The credential the Azure provider uses: workload identity when the pod has it (through
 * DefaultAzureCredential, which reads `AZURE_FEDERATED_TOKEN_FILE` and friends), else the VM's
 * managed identity (system-assigned, or user-assigned by client id). Never a secret.
 */
import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';

export interface AzureCredentialChoice {
  /** Client id of a user-assigned managed identity; the system-assigned one when unset. */
  readonly clientId?: string;
  /** True when workload identity is configured (a federated token file is present). */
  readonly workloadIdentity: boolean;
}

export function createAzureCredential(choice: AzureCredentialChoice): TokenCredential {
  if (choice.workloadIdentity) return new DefaultAzureCredential(choice.clientId === undefined ? {} : { managedIdentityClientId: choice.clientId });
  return choice.clientId === undefined ? new ManagedIdentityCredential() : new ManagedIdentityCredential({ clientId: choice.clientId });
}

/** Which credential {@link createAzureCredential} picks, for the start-up log. */
export function describeCredential(choice: AzureCredentialChoice): string {
  if (choice.workloadIdentity) return 'workload identity (DefaultAzureCredential)';
  return choice.clientId === undefined ? 'system-assigned managed identity' : `user-assigned managed identity ${choice.clientId}`;
}
