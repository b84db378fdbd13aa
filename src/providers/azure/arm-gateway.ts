/**
 * The provider's {@link ArmApi} through the real SDKs (`@azure/arm-network`, `@azure/arm-compute`).
 * SDK types never leave this file: callers get {@link NicState}s and {@link WriteHandle}s.
 * Every SDK error is mapped to a CloudError here, except 412 (the caller re-reads and retries).
 */
import { Agent } from 'node:https';
import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { CloudApiObserver } from '../../core/cloud-plugin.js';
import { ComputeManagementClient, restorePoller as restoreComputePoller } from '@azure/arm-compute';
import type { VirtualMachineScaleSetVM } from '@azure/arm-compute';
import { NetworkManagementClient, restorePoller as restoreNetworkPoller } from '@azure/arm-network';
import type { NetworkInterface, NetworkInterfaceIPConfiguration } from '@azure/arm-network';
import { CloudError } from '../../core/types.js';
import { decodeArmError, isLroFailure, isPreconditionFailed, mapArmError, parseRemainingWrites, type ArmErrorContext } from './error-mapping.js';
import { EtagMismatch, OutcomeUnknown, type ArmApi, type ConfigChange, type NicRef, type NicState, type WriteHandle } from './arm-api.js';
import { applyIpConfigChange } from './ip-configs.js';

export { EtagMismatch, OutcomeUnknown, type ConfigChange, type NicRef, type NicState, type WriteHandle } from './arm-api.js';
import { normaliseMac, parseResourceId, resourceName, segmentValue, type UniformInstanceRef } from './resource-id.js';

export interface ArmGatewayOptions {
  readonly subscriptionId: string;
  readonly credential: TokenCredential;
  /** ARM base URL; `https://management.azure.com` when unset. */
  readonly endpoint?: string;
  /** PEM bundle of extra CAs to trust for ARM (the emulator's self-signed certificate). */
  readonly caBundle?: string;
  /** Delay between polls of a long-running operation when ARM sends no Retry-After. */
  readonly pollIntervalMs: number;
  /** Called with `x-ms-ratelimit-remaining-subscription-writes` of each answer that carries it (also kept in {@link ArmGateway.remainingWrites}). */
  readonly onRemainingWrites?: (remaining: number) => void;
  /** Aborts every poll in flight (daemon shutdown). */
  readonly signal?: AbortSignal;
  /**
   * Longest wait for one HTTP request's answer (a GET, a PUT's acceptance, one poll of an
   * operation); then it fails with TimeoutError, mapped to Transient. Default {@link DEFAULT_ARM_REQUEST_TIMEOUT_MS}.
   */
  readonly requestTimeoutMs?: number;
  /** Told of every HTTP request to ARM as it ends (metrics). */
  readonly observer?: CloudApiObserver;
}

/**
 * The API action a request to ARM stands for: its method and the resource type it addresses
 * (`PUT networkInterfaces`, `GET virtualMachines`, `GET operations` for a long-running operation's
 * poll). Pure.
 */
export function armApiAction(method: string, url: string): string {
  const path = new URL(url).pathname.split('/').filter((s) => s !== '');
  const providers = path.lastIndexOf('providers');
  const segments = providers < 0 ? path : path.slice(providers + 2);
  const type = segments.length === 0 ? 'subscription' : segments.length % 2 === 0 ? segments[segments.length - 2]! : segments[segments.length - 1]!;
  return `${method} ${type}`;
}

/** Reports each request to ARM (each attempt) with its action, duration and outcome. */
function observerPolicy(observer: CloudApiObserver): PipelinePolicy {
  return {
    name: 'nativeipRequestObserver',
    async sendRequest(request, next) {
      const api = armApiAction(request.method, request.url);
      const started = performance.now();
      try {
        const response = await next(request);
        observer(api, performance.now() - started, response.status === 429 ? 'throttled' : response.status >= 400 ? 'error' : 'ok');
        return response;
      } catch (error) {
        const status = (error as { statusCode?: unknown }).statusCode;
        observer(api, performance.now() - started, status === 429 ? 'throttled' : 'error');
        throw error;
      }
    },
  };
}

/**
 * Why 30 s: every request nativeip sends ARM is short, since a NIC write is answered as soon as
 * ARM accepts it (201/202) and its long-running operation is polled with separate GETs; they take
 * a second or a few. @azure/core-rest-pipeline sets no timeout by default, so a request ARM never
 * answers would hold the NIC's queue, and every grow and release on it, for ever. 30 s is ten
 * times and more a normal answer, so a slow but healthy one is not cut off (a cut-off PUT is an
 * outcome unknown, settled by reading the NIC), costs at most 30 s before the pool backs off, and
 * stays under the pool's 60 s backoff ceiling. Longer than EC2's 10 s: ARM's answers (a NIC PUT's
 * validation in particular) are slower and more variable than EC2's.
 */
export const DEFAULT_ARM_REQUEST_TIMEOUT_MS = 30_000;

/**
 * Gives every request a timeout (a shorter one set by the caller stays) and turns its expiry,
 * which @azure/core-rest-pipeline reports as an AbortError like a cancelled request, into a
 * TimeoutError that says so. A request cancelled through its own signal (shutdown) stays an AbortError.
 */
export function requestTimeoutPolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: 'nativeipRequestTimeout',
    async sendRequest(request, next) {
      if (request.timeout <= 0 || request.timeout > timeoutMs) request.timeout = timeoutMs;
      const limit = request.timeout;
      try {
        return await next(request);
      } catch (error) {
        if (!(error instanceof Error && error.name === 'AbortError') || request.abortSignal?.aborted === true) throw error;
        throw Object.assign(new Error(`${request.method} ${new URL(request.url).pathname} got no answer within ${limit} ms`, { cause: error }), {
          name: 'TimeoutError',
          code: 'TimeoutError',
        });
      }
    },
  };
}

/** Whether a failure left the operation's outcome open (no answer, or 5xx) rather than ended it. */
function unknownOutcome(error: unknown): boolean {
  if (isLroFailure(error)) return false;
  const status = decodeArmError(error).httpStatus;
  return status === undefined || status >= 500;
}

export class ArmGateway implements ArmApi {
  readonly #network: NetworkManagementClient;
  readonly #compute: ComputeManagementClient;
  readonly #agent: Agent;
  readonly #options: ArmGatewayOptions;
  /** The last NIC read, per id: a write whose ETag matches it needs no second GET. */
  readonly #lastRead = new Map<string, NetworkInterface>();
  #remainingWrites: number | undefined;

  constructor(options: ArmGatewayOptions) {
    this.#options = options;
    this.#agent = new Agent({ keepAlive: true, ...(options.caBundle === undefined ? {} : { ca: options.caBundle }) });
    const setRemaining = (remaining: number) => {
      this.#remainingWrites = remaining;
    };
    const observe: PipelinePolicy = {
      name: 'nativeipRemainingWrites',
      async sendRequest(request, next) {
        const response = await next(request);
        const remaining = parseRemainingWrites(response.headers.get('x-ms-ratelimit-remaining-subscription-writes'));
        if (remaining !== undefined) {
          setRemaining(remaining);
          options.onRemainingWrites?.(remaining);
        }
        return response;
      },
    };
    // SDK retries off: throttling and failures reach the provider, which maps them for the pool's backoff.
    const common = {
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      agent: this.#agent,
      retryOptions: { maxRetries: 0 },
      additionalPolicies: [
        { policy: observe, position: 'perCall' as const },
        { policy: requestTimeoutPolicy(options.requestTimeoutMs ?? DEFAULT_ARM_REQUEST_TIMEOUT_MS), position: 'perRetry' as const },
        ...(options.observer === undefined ? [] : [{ policy: observerPolicy(options.observer), position: 'perRetry' as const }]),
      ],
    };
    this.#network = new NetworkManagementClient(options.credential, options.subscriptionId, common);
    this.#compute = new ComputeManagementClient(options.credential, options.subscriptionId, common);
  }

  get remainingWrites(): number | undefined {
    return this.#remainingWrites;
  }

  close(): void {
    this.#agent.destroy();
  }

  /** The VM's NICs in the VM's order (standalone VMs and Flexible scale-set instances). */
  async vmNics(resourceGroup: string, vmName: string): Promise<NicRef[]> {
    const vm = await this.#call({ action: 'GET virtual machine', resource: vmName }, () =>
      this.#compute.virtualMachines.get(resourceGroup, vmName, this.#op()),
    );
    return (vm.networkProfile?.networkInterfaces ?? []).flatMap((n) => (n.id === undefined ? [] : [{ id: n.id, primary: n.primary === true }]));
  }

  /** The NICs of a Uniform scale-set instance, in the instance's order. */
  async uniformNics(ref: UniformInstanceRef): Promise<NicRef[]> {
    const vm = await this.#getVmssVm(ref);
    return (vm.networkProfile?.networkInterfaces ?? []).flatMap((n) => (n.id === undefined ? [] : [{ id: n.id, primary: n.primary === true }]));
  }

  /** Reads a NIC: an ordinary NIC resource, or a Uniform scale-set instance's NIC. */
  async nic(nicId: string): Promise<NicState> {
    const raw = await this.#rawNic(nicId);
    this.#lastRead.set(nicId, raw);
    return toNicState(nicId, raw);
  }

  /** Address prefixes of a virtual network. */
  async vnetPrefixes(vnetId: string): Promise<string[]> {
    const id = parseResourceId(vnetId);
    if (id === undefined) throw new CloudError('InvalidRequest', `not a virtual network id: ${vnetId}`);
    const vnet = await this.#call({ action: 'GET virtual network', resource: vnetId }, () =>
      this.#network.virtualNetworks.get(id.resourceGroup, resourceName(id), this.#op()),
    );
    return vnet.addressSpace?.addressPrefixes ?? [];
  }

  /**
   * Writes the change to an ordinary NIC: re-reads it, applies the change to the list it read
   * (so a concurrent writer's configurations are carried over), PUTs it with `If-Match` and
   * returns once ARM accepted the operation. Throws {@link EtagMismatch} on 412.
   */
  async writeNic(nicId: string, change: ConfigChange, etag: string | undefined): Promise<WriteHandle> {
    const id = mustParse(nicId);
    const cached = this.#lastRead.get(nicId);
    const raw = cached !== undefined && etag !== undefined && cached.etag === etag ? cached : await this.#rawNic(nicId);
    if (etag !== undefined && raw.etag !== undefined && raw.etag !== etag) throw new EtagMismatch(`NIC ${nicId} changed since it was read`);
    this.#lastRead.delete(nicId);
    const added: NetworkInterfaceIPConfiguration[] = change.add.map((name) => ({
      name,
      primary: false,
      privateIPAllocationMethod: 'Dynamic',
      privateIPAddressVersion: 'IPv4',
      subnet: { id: change.subnetId },
    }));
    const body: NetworkInterface = { ...raw, ipConfigurations: applyIpConfigChange(raw.ipConfigurations ?? [], { remove: change.remove, add: added }) };
    const context = { action: 'PUT network interface', resource: nicId, subnetId: change.subnetId };
    const poller = this.#network.networkInterfaces.createOrUpdate(id.resourceGroup, resourceName(id), body, {
      ...this.#op(),
      updateIntervalInMs: this.#options.pollIntervalMs,
      requestOptions: { headers: raw.etag === undefined ? {} : { 'If-Match': raw.etag } },
    });
    return this.#accepted(poller, context);
  }

  /** Resumes a NIC write from its serialized poller state. */
  resumeNic(serialized: string, nicId: string): WriteHandle {
    const poller = restoreNetworkPoller(this.#network, serialized, this.#network.networkInterfaces.createOrUpdate, {
      ...this.#op(),
      updateIntervalInMs: this.#options.pollIntervalMs,
    });
    return handleOf(poller, { action: 'PUT network interface (resumed)', resource: nicId });
  }

  /**
   * Writes the change to a Uniform scale-set instance's network profile (the NIC configuration
   * named like the NIC), with the instance's ETag. Throws {@link EtagMismatch} on 412.
   */
  async writeUniform(ref: UniformInstanceRef, nicId: string, change: ConfigChange): Promise<WriteHandle> {
    const vm = await this.#getVmssVm(ref);
    const nicName = resourceName(mustParse(nicId));
    const configs = vm.networkProfileConfiguration?.networkInterfaceConfigurations ?? [];
    const target = configs.find((c) => c.name.toLowerCase() === nicName.toLowerCase());
    if (target === undefined) throw new CloudError('NotFound', `scale-set instance ${ref.scaleSetName}/${ref.instanceId} has no network configuration ${nicName}`);
    const ipConfigurations = applyIpConfigChange(target.ipConfigurations ?? [], {
      remove: change.remove,
      add: change.add.map((name) => ({ name, primary: false, privateIPAddressVersion: 'IPv4', subnet: { id: change.subnetId } })),
    });
    const body: VirtualMachineScaleSetVM = {
      ...vm,
      networkProfileConfiguration: {
        ...vm.networkProfileConfiguration,
        networkInterfaceConfigurations: configs.map((c) => (c === target ? { ...c, ipConfigurations } : c)),
      },
    };
    const context = { action: 'PUT scale-set instance', resource: `${ref.scaleSetName}/${ref.instanceId}`, subnetId: change.subnetId };
    const poller = this.#compute.virtualMachineScaleSetVMs.update(ref.resourceGroup, ref.scaleSetName, ref.instanceId, body, {
      ...this.#op(),
      updateIntervalInMs: this.#options.pollIntervalMs,
      ...(vm.etag === undefined ? {} : { ifMatch: vm.etag }),
    });
    return this.#accepted(poller, context);
  }

  resumeUniform(serialized: string, target: string): WriteHandle {
    const poller = restoreComputePoller(this.#compute, serialized, this.#compute.virtualMachineScaleSetVMs.update, {
      ...this.#op(),
      updateIntervalInMs: this.#options.pollIntervalMs,
    });
    return handleOf(poller, { action: 'PUT scale-set instance (resumed)', resource: target });
  }

  async #accepted(poller: SdkPoller, context: ArmErrorContext): Promise<WriteHandle> {
    try {
      await poller.submitted();
    } catch (error) {
      if (isPreconditionFailed(error)) throw new EtagMismatch(`${context.resource ?? 'resource'} changed since it was read (HTTP 412)`);
      const mapped = mapArmError(error, context);
      throw unknownOutcome(error) ? new OutcomeUnknown(mapped) : mapped;
    }
    return handleOf(poller, context);
  }

  async #rawNic(nicId: string): Promise<NetworkInterface> {
    const id = mustParse(nicId);
    const context = { action: 'GET network interface', resource: nicId };
    const scaleSet = segmentValue(id, 'virtualMachineScaleSets');
    const instance = segmentValue(id, 'virtualMachines');
    if (scaleSet !== undefined && instance !== undefined) {
      return this.#call(context, () =>
        this.#network.networkInterfaces.getVirtualMachineScaleSetNetworkInterface(id.resourceGroup, scaleSet, instance, resourceName(id), this.#op()),
      );
    }
    return this.#call(context, () => this.#network.networkInterfaces.get(id.resourceGroup, resourceName(id), this.#op()));
  }

  #getVmssVm(ref: UniformInstanceRef): Promise<VirtualMachineScaleSetVM> {
    return this.#call({ action: 'GET scale-set instance', resource: `${ref.scaleSetName}/${ref.instanceId}` }, () =>
      this.#compute.virtualMachineScaleSetVMs.get(ref.resourceGroup, ref.scaleSetName, ref.instanceId, this.#op()),
    );
  }

  #op(): { abortSignal?: AbortSignal } {
    return this.#options.signal === undefined ? {} : { abortSignal: this.#options.signal };
  }

  async #call<T>(context: ArmErrorContext, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw mapArmError(error, context);
    }
  }
}

/** The part of the SDK's PollerLike the gateway uses. */
interface SdkPoller {
  submitted(): Promise<void>;
  serialize(): Promise<string>;
  pollUntilDone(): Promise<unknown>;
}

function handleOf(poller: SdkPoller, context: ArmErrorContext): WriteHandle {
  return {
    serialize: () => poller.serialize(),
    async done() {
      try {
        await poller.pollUntilDone();
      } catch (error) {
        const mapped = mapArmError(error, context);
        throw unknownOutcome(error) ? new OutcomeUnknown(mapped) : mapped;
      }
    },
  };
}

function mustParse(id: string) {
  const parsed = parseResourceId(id);
  if (parsed === undefined) throw new CloudError('InvalidRequest', `not an ARM resource id: ${id}`);
  return parsed;
}

function toNicState(id: string, raw: NetworkInterface): NicState {
  const mac = raw.macAddress === undefined ? undefined : normaliseMac(raw.macAddress);
  return {
    id: raw.id ?? id,
    etag: raw.etag,
    mac,
    primary: raw.primary === true,
    provisioningState: raw.provisioningState,
    configs: (raw.ipConfigurations ?? []).map((c) => ({
      name: c.name ?? '',
      primary: c.primary === true,
      address: c.privateIPAddress,
      subnetId: c.subnet?.id,
      provisioningState: c.provisioningState,
    })),
  };
}
