/**
 * The instance metadata the Azure provider reads, as it wants it: the JSON documents IMDS answers,
 * which the provider decodes itself (imds-client.ts). `httpAzureImds` (imds-client.ts) reads them
 * over HTTP with `Metadata: true`; the churn simulators read the emulator's documents in-process.
 */
export interface AzureImdsApi {
  /** `GET /metadata/instance`: the instance document, parsed. Read-only; throws a CloudError (Transient when IMDS does not answer). */
  instance(): Promise<unknown>;
  /** `GET /metadata/instance/network`: the network part alone, parsed. Read-only; throws as {@link instance}. */
  network(): Promise<unknown>;
}
