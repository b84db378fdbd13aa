/**
 * The Azure provider's seams (ArmApi, AzureImdsApi) on a subscription run in-process
 * ({@link InProcessArm}: the ARM emulator's state model on simulated time), for the simulators:
 * what the SDKs and https do for the real daemon (ArmGateway), done without a wire. A write reads
 * the NIC (or reuses the read whose ETag it was given), PUTs the configurations with the change
 * applied and `If-Match`, and its handle polls the operation every `pollIntervalMs` until it ends,
 * then GETs the NIC as the SDK's poller does; ARM's error answers are shaped as the SDK's RestError
 * and mapped by the provider's own error mapping. No retries, as the gateway (its SDK retries are
 * off). Holds no provider logic of its own.
 */
import type { CloudError } from '../../core/types.js';
import { EtagMismatch, OutcomeUnknown, type ArmApi, type ConfigChange, type NicRef, type NicState, type WriteHandle } from './arm-api.js';
import { isPreconditionFailed, mapArmError, type ArmErrorContext } from './error-mapping.js';
import type { AzureImdsApi } from './imds-api.js';
import { applyIpConfigChange } from './ip-configs.js';
import { normaliseMac, type UniformInstanceRef } from './resource-id.js';

/** An IP configuration as a PUT asks for it. */
interface DesiredConfig {
  readonly name: string;
  readonly primary: boolean;
  readonly subnetId: string | undefined;
  readonly allocation: 'Dynamic' | 'Static';
  readonly address: string | undefined;
}

/** A NIC as ARM's GET answers it. */
interface ArmNicView {
  readonly id: string;
  readonly etag: string;
  /** As ARM shows it: `00-0D-3A-12-34-56`. */
  readonly macAddress: string;
  readonly primary: boolean;
  readonly provisioningState: string;
  readonly ipConfigurations: readonly {
    readonly name: string;
    readonly primary: boolean;
    readonly address: string;
    readonly subnetId: string;
    readonly allocation: 'Dynamic' | 'Static';
    readonly provisioningState: string;
  }[];
}

/** ARM's answer to an accepted PUT. */
interface ArmAccepted {
  /** The long-running operation to poll (`Azure-AsyncOperation`). */
  readonly operationId: string;
  /** `x-ms-ratelimit-remaining-subscription-writes`. */
  readonly remainingWrites: number;
}

/**
 * An Azure subscription in-process, as this adapter calls it: one method per ARM request, answers
 * in ARM's terms, failures thrown as {@link ArmFailure} or {@link ArmSilence}. The ARM emulator's
 * backend (src/emulator/azure/arm-backend.ts) is one. Declared here, by its consumer, because a
 * provider never imports an emulator; test/unit/in-process-clouds.test.ts checks the backend fits.
 */
export interface InProcessArm {
  readonly state: { readonly subscriptionId: string };
  getVirtualMachine(vmId: string): Promise<{ readonly etag: string; readonly networkInterfaces: readonly { readonly id: string; readonly primary: boolean }[] }>;
  getNetworkInterface(nicId: string): Promise<ArmNicView>;
  getVirtualNetwork(vnetId: string): Promise<{ readonly addressPrefixes: readonly string[] }>;
  putNetworkInterface(nicId: string, configs: readonly DesiredConfig[], ifMatch: string | undefined): Promise<ArmAccepted>;
  putScaleSetVmNic(vmId: string, nicId: string, configs: readonly DesiredConfig[], ifMatch: string | undefined): Promise<ArmAccepted>;
  getOperation(operationId: string): Promise<{ readonly status: string; readonly error?: { readonly code: string; readonly message: string } }>;
  /** The VM's IMDS documents: `/metadata/instance`, and its network part (which lags ARM). */
  imdsInstance(vmId: string): Promise<unknown>;
  imdsNetwork(vmId: string): Promise<unknown>;
}

/** ARM's error answer as an in-process ARM throws it. */
interface ArmFailure {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly retryAfterSec: number | undefined;
}

/** No answer at all: the reply was lost (`reset`) or the client gave up (`timeout`). */
interface ArmSilence {
  readonly reason: 'reset' | 'timeout';
  readonly message: string;
}

function isFailure(error: unknown): error is ArmFailure {
  return error instanceof Error && typeof (error as Partial<ArmFailure>).code === 'string' && typeof (error as Partial<ArmFailure>).status === 'number';
}

function isSilence(error: unknown): error is ArmSilence {
  const reason = error instanceof Error ? (error as Partial<ArmSilence>).reason : undefined;
  return reason === 'reset' || reason === 'timeout';
}

export interface InProcessArmApiOptions {
  readonly backend: InProcessArm;
  readonly sleep: (ms: number) => Promise<void>;
  /** Between two polls of an operation (the provider's pollIntervalMs; the emulator sends no Retry-After). */
  readonly pollIntervalMs: number;
  /** The clock Retry-After dates are read against. */
  readonly clock: () => number;
}

/** What @azure/core-rest-pipeline throws for the emulator's answer: a RestError, or a Node network error. */
function sdkErrorOf(error: unknown): unknown {
  if (isFailure(error)) {
    const retryAfter = error.retryAfterSec === undefined ? undefined : String(error.retryAfterSec);
    return Object.assign(new Error(error.message), {
      name: 'RestError',
      code: error.code,
      statusCode: error.status,
      response: { headers: { get: (name: string) => (name.toLowerCase() === 'retry-after' ? retryAfter : undefined) } },
    });
  }
  if (isSilence(error)) {
    return error.reason === 'reset' ? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) : Object.assign(new Error(error.message), { name: 'TimeoutError', code: 'TimeoutError' });
  }
  return error;
}

/** As the gateway: no answer or a 5xx leaves a write's outcome open. */
function outcomeUnknown(error: unknown): boolean {
  return isSilence(error) || (isFailure(error) && error.status >= 500);
}

function nicState(nic: ArmNicView): NicState {
  return {
    id: nic.id,
    etag: nic.etag,
    mac: normaliseMac(nic.macAddress),
    primary: nic.primary,
    provisioningState: nic.provisioningState,
    configs: nic.ipConfigurations.map((c) => ({ name: c.name, primary: c.primary, address: c.address, subnetId: c.subnetId, provisioningState: c.provisioningState })),
  };
}

function desiredOf(nic: ArmNicView, change: ConfigChange): DesiredConfig[] {
  const current: DesiredConfig[] = nic.ipConfigurations.map((c) => ({ name: c.name, primary: c.primary, subnetId: c.subnetId, allocation: c.allocation, address: c.address }));
  const added: DesiredConfig[] = change.add.map((name) => ({ name, primary: false, subnetId: change.subnetId, allocation: 'Dynamic', address: undefined }));
  return applyIpConfigChange(current, { remove: change.remove, add: added });
}

/** One node's ARM client. */
export class InProcessArmApi implements ArmApi {
  readonly #options: InProcessArmApiOptions;
  /** The last NIC read, per id: a write whose ETag matches it needs no second GET (as the gateway). */
  readonly #lastRead = new Map<string, ArmNicView>();
  #remainingWrites: number | undefined;

  constructor(options: InProcessArmApiOptions) {
    this.#options = options;
  }

  get remainingWrites(): number | undefined {
    return this.#remainingWrites;
  }

  close(): void {}

  async #call<T>(context: ArmErrorContext, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw this.#mapped(error, context);
    }
  }

  #mapped(error: unknown, context: ArmErrorContext): CloudError {
    return mapArmError(sdkErrorOf(error), context, this.#options.clock());
  }

  async vmNics(resourceGroup: string, vmName: string): Promise<NicRef[]> {
    const { backend } = this.#options;
    const vmId = `/subscriptions/${backend.state.subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachines/${vmName}`;
    const vm = await this.#call({ action: 'GET virtual machine', resource: vmName }, () => backend.getVirtualMachine(vmId));
    return vm.networkInterfaces.map((n) => ({ id: n.id, primary: n.primary }));
  }

  async uniformNics(ref: UniformInstanceRef): Promise<NicRef[]> {
    const vm = await this.#call({ action: 'GET scale-set instance', resource: `${ref.scaleSetName}/${ref.instanceId}` }, () => this.#options.backend.getVirtualMachine(this.#uniformId(ref)));
    return vm.networkInterfaces.map((n) => ({ id: n.id, primary: n.primary }));
  }

  async nic(nicId: string): Promise<NicState> {
    const nic = await this.#getNic(nicId);
    this.#lastRead.set(nicId, nic);
    return nicState(nic);
  }

  async vnetPrefixes(vnetId: string): Promise<string[]> {
    const vnet = await this.#call({ action: 'GET virtual network', resource: vnetId }, () => this.#options.backend.getVirtualNetwork(vnetId));
    return [...vnet.addressPrefixes];
  }

  async writeNic(nicId: string, change: ConfigChange, etag: string | undefined): Promise<WriteHandle> {
    const cached = this.#lastRead.get(nicId);
    const nic = cached !== undefined && etag !== undefined && cached.etag === etag ? cached : await this.#getNic(nicId);
    if (etag !== undefined && nic.etag !== etag) throw new EtagMismatch(`NIC ${nicId} changed since it was read`);
    this.#lastRead.delete(nicId);
    const context = { action: 'PUT network interface', resource: nicId, subnetId: change.subnetId };
    return this.#accepted(context, nicId, () => this.#options.backend.putNetworkInterface(nicId, desiredOf(nic, change), nic.etag));
  }

  resumeNic(serialized: string, nicId: string): WriteHandle {
    return this.#handle(operationOf(serialized), nicId, { action: 'PUT network interface (resumed)', resource: nicId });
  }

  async writeUniform(ref: UniformInstanceRef, nicId: string, change: ConfigChange): Promise<WriteHandle> {
    const vmId = this.#uniformId(ref);
    const vm = await this.#call({ action: 'GET scale-set instance', resource: `${ref.scaleSetName}/${ref.instanceId}` }, () => this.#options.backend.getVirtualMachine(vmId));
    const nic = await this.#getNic(nicId);
    const context = { action: 'PUT scale-set instance', resource: `${ref.scaleSetName}/${ref.instanceId}`, subnetId: change.subnetId };
    return this.#accepted(context, nicId, () => this.#options.backend.putScaleSetVmNic(vmId, nicId, desiredOf(nic, change), vm.etag));
  }

  resumeUniform(serialized: string, target: string): WriteHandle {
    const { operationId, nicId } = JSON.parse(serialized) as { operationId: string; nicId: string };
    return this.#handle(operationId, nicId, { action: 'PUT scale-set instance (resumed)', resource: target });
  }

  #getNic(nicId: string): Promise<ArmNicView> {
    return this.#call({ action: 'GET network interface', resource: nicId }, () => this.#options.backend.getNetworkInterface(nicId));
  }

  async #accepted(context: ArmErrorContext, nicId: string, put: () => Promise<ArmAccepted>): Promise<WriteHandle> {
    let accepted: ArmAccepted;
    try {
      accepted = await put();
    } catch (error) {
      const sdk = sdkErrorOf(error);
      if (isPreconditionFailed(sdk)) throw new EtagMismatch(`${context.resource ?? 'resource'} changed since it was read (HTTP 412)`);
      const mapped = this.#mapped(error, context);
      throw outcomeUnknown(error) ? new OutcomeUnknown(mapped) : mapped;
    }
    this.#remainingWrites = accepted.remainingWrites;
    return this.#handle(accepted.operationId, nicId, context);
  }

  /** Polls the operation until it ends, then GETs the NIC (the SDK poller's final GET). */
  #handle(operationId: string, nicId: string, context: ArmErrorContext): WriteHandle {
    const { backend, sleep, pollIntervalMs } = this.#options;
    const poll = async <T>(call: () => Promise<T>): Promise<T> => {
      try {
        return await call();
      } catch (error) {
        const mapped = this.#mapped(error, context);
        throw outcomeUnknown(error) ? new OutcomeUnknown(mapped) : mapped;
      }
    };
    return {
      serialize: () => Promise.resolve(JSON.stringify({ operationId, nicId })),
      done: async () => {
        let status: Awaited<ReturnType<InProcessArm['getOperation']>>;
        do {
          await sleep(pollIntervalMs);
          status = await poll(() => backend.getOperation(operationId));
        } while (status.status === 'InProgress');
        if (status.status === 'Failed') {
          const failure = new Error(`The long-running operation has failed. ${status.error?.code ?? 'Failed'}. ${status.error?.message ?? ''}`);
          throw mapArmError(failure, context, this.#options.clock());
        }
        await poll(() => backend.getNetworkInterface(nicId));
      },
    };
  }

  #uniformId(ref: UniformInstanceRef): string {
    return `/subscriptions/${this.#options.backend.state.subscriptionId}/resourceGroups/${ref.resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${ref.scaleSetName}/virtualMachines/${ref.instanceId}`;
  }
}

function operationOf(serialized: string): string {
  return (JSON.parse(serialized) as { operationId: string }).operationId;
}

/** One VM's IMDS, read in-process: the documents the emulator's IMDS serves (the network part lagging ARM). */
export class InProcessAzureImds implements AzureImdsApi {
  readonly #backend: InProcessArm;
  readonly #vmId: string;

  constructor(backend: InProcessArm, vmId: string) {
    this.#backend = backend;
    this.#vmId = vmId;
  }

  instance(): Promise<unknown> {
    return this.#backend.imdsInstance(this.#vmId);
  }

  network(): Promise<unknown> {
    return this.#backend.imdsNetwork(this.#vmId);
  }
}
