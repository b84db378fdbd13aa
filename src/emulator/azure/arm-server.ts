/**
 * The emulated ARM endpoint over https (the SDKs refuse bearer tokens over plain http): the NIC,
 * VM, VNet and scale-set-instance operations nativeip uses, long-running operations polled through
 * `Azure-AsyncOperation`, bearer tokens from the emulated IMDS, the subscription write bucket, and
 * injected faults. Counts calls per operation.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { closeServer, listen, readBody, urlHost } from '../aws/http-util.js';
import type { NicRecord, OperationRecord } from './arm-model.js';
import { decodeNicPut, decodeScaleSetVmPut, nicJson, scaleSetVmJson, vmJson, vnetJson } from './arm-render.js';
import type { AzureState } from './arm-state.js';
import { ArmApiError } from './errors.js';
import type { AzureFault } from './faults.js';
import type { WriteBucket } from './write-bucket.js';

export interface ArmServerOptions {
  readonly state: AzureState;
  readonly tls: { readonly key: string; readonly cert: string };
  /** Undefined: writes are never throttled. */
  readonly writeBucket: WriteBucket | undefined;
  /** Delay before each request is handled. */
  readonly requestLatencyMs: number;
  /** Sent as Retry-After on long-running operation answers; undefined sends none. */
  readonly lroRetryAfterSec: number | undefined;
  /** Called after each request was answered (the emulator schedules operation completion). */
  readonly afterRequest?: () => void;
}

const GROUP = '^/subscriptions/([^/]+)/resourcegroups/([^/]+)/providers/';
const ROUTES: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  { name: 'NetworkInterface', pattern: new RegExp(`${GROUP}microsoft\\.network/networkinterfaces/([^/]+)$`, 'i') },
  { name: 'VirtualMachine', pattern: new RegExp(`${GROUP}microsoft\\.compute/virtualmachines/([^/]+)$`, 'i') },
  { name: 'VirtualNetwork', pattern: new RegExp(`${GROUP}microsoft\\.network/virtualnetworks/([^/]+)$`, 'i') },
  { name: 'ScaleSetVm', pattern: new RegExp(`${GROUP}microsoft\\.compute/virtualmachinescalesets/([^/]+)/virtualmachines/([^/]+)$`, 'i') },
  { name: 'ScaleSetVmNetworkInterface', pattern: new RegExp(`${GROUP}microsoft\\.compute/virtualmachinescalesets/([^/]+)/virtualmachines/([^/]+)/networkinterfaces/([^/]+)$`, 'i') },
  { name: 'Operation', pattern: /^\/subscriptions\/([^/]+)\/providers\/microsoft\.(?:network|compute)\/locations\/([^/]+)\/operations\/([^/]+)$/i },
];

export class ArmServer {
  readonly calls = new Map<string, number>();
  readonly throttled = new Map<string, number>();
  readonly #options: ArmServerOptions;
  readonly #server: Server;
  readonly #faults: AzureFault[] = [];
  #baseUrl = '';

  constructor(options: ArmServerOptions) {
    this.#options = options;
    this.#server = createServer({ key: options.tls.key, cert: options.tls.cert }, (req, res) => {
      this.#handle(req, res)
        .catch((error: unknown) => send(res, 500, { error: { code: 'InternalServerError', message: (error as Error).message } }))
        .finally(() => options.afterRequest?.());
    });
  }

  get url(): string {
    return this.#baseUrl;
  }

  async start(host: string, port: number): Promise<void> {
    const bound = await listen(this.#server, host, port);
    this.#baseUrl = `https://${urlHost(host)}:${bound}`;
  }

  close(): Promise<void> {
    return closeServer(this.#server);
  }

  injectFault(fault: AzureFault): void {
    this.#faults.push(fault);
  }

  resetCounts(): void {
    this.calls.clear();
    this.throttled.clear();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://arm');
    const body = await readBody(req);
    if (this.#options.requestLatencyMs > 0) await new Promise((r) => setTimeout(r, this.#options.requestLatencyMs));
    const { state } = this.#options;
    state.settle();
    const route = ROUTES.find((r) => r.pattern.test(url.pathname));
    const method = req.method ?? 'GET';
    const operation = `${method === 'PUT' ? 'Put' : 'Get'}${route?.name ?? 'Unknown'}`;
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
    try {
      this.#authorize(req);
      if (route === undefined) throw new ArmApiError(404, 'InvalidResourceType', `The emulator does not serve ${method} ${url.pathname}.`);
      const match = route.pattern.exec(url.pathname) ?? [];
      if (method === 'GET') return this.#get(res, route.name, url.pathname, match);
      if (method !== 'PUT' || (route.name !== 'NetworkInterface' && route.name !== 'ScaleSetVm')) {
        throw new ArmApiError(405, 'MethodNotAllowed', `${method} is not supported on ${url.pathname}.`);
      }
      const remaining = this.#admitWrite(operation);
      const ifMatch = header(req, 'if-match');
      const parsed: unknown = body === '' ? undefined : parseJson(body);
      const op = route.name === 'NetworkInterface' ? this.#putNic(url.pathname, parsed, ifMatch) : this.#putScaleSetVm(url.pathname, parsed, ifMatch);
      const resource = route.name === 'NetworkInterface' ? nicJson(state, this.#nic(url.pathname)) : scaleSetVmJson(state, this.#vm(url.pathname));
      send(res, 200, resource, {
        'azure-asyncoperation': `${this.#baseUrl}/subscriptions/${state.subscriptionId}/providers/Microsoft.Network/locations/${state.location}/operations/${op.id}?api-version=2026-01-01`,
        'x-ms-ratelimit-remaining-subscription-writes': String(remaining),
        ...this.#lroRetryAfter(),
      });
    } catch (error) {
      if (!(error instanceof ArmApiError)) throw error;
      if (error.status === 429) this.throttled.set(operation, (this.throttled.get(operation) ?? 0) + 1);
      send(res, error.status, { error: { code: error.code, message: error.message } }, error.retryAfterSec === undefined ? {} : { 'retry-after': String(error.retryAfterSec) });
    }
  }

  #authorize(req: IncomingMessage): void {
    const auth = header(req, 'authorization');
    const token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
    if (token === undefined || !this.#options.state.tokens.has(token)) {
      throw new ArmApiError(401, 'InvalidAuthenticationToken', 'The access token is missing or was not issued by this (emulated) Azure AD.');
    }
  }

  /** Takes a write token and the next injected throttle fault; returns the writes left. */
  #admitWrite(operation: string): number {
    const fault = this.#faults[0];
    if (fault?.kind === 'throttle' || fault?.kind === 'anotherOperation') {
      this.#faults.shift();
      if (fault.kind === 'throttle') {
        throw new ArmApiError(429, 'SubscriptionRequestsThrottled', `Number of write requests for subscription exceeded the limit; retry after ${fault.retryAfterSec} seconds.`, fault.retryAfterSec);
      }
      throw new ArmApiError(429, 'RetryableErrorDueToAnotherOperation', `Operation ${operation} is waiting on another operation updating the resource. The call can be retried in ${fault.retryAfterSec} seconds.`, fault.retryAfterSec);
    }
    const bucket = this.#options.writeBucket;
    if (bucket === undefined) return 1199;
    const take = bucket.take();
    if (!take.ok) {
      const seconds = Math.max(1, Math.ceil(take.waitMs / 1000));
      throw new ArmApiError(429, 'SubscriptionRequestsThrottled', `Number of write requests for subscription '${this.#options.state.subscriptionId}' exceeded the limit of 200 burst, 10 per second.`, seconds);
    }
    return take.remaining;
  }

  #takeFault<K extends AzureFault['kind']>(kind: K): Extract<AzureFault, { kind: K }> | undefined {
    const index = this.#faults.findIndex((f) => f.kind === kind);
    if (index < 0) return undefined;
    return this.#faults.splice(index, 1)[0] as Extract<AzureFault, { kind: K }>;
  }

  #putNic(path: string, body: unknown, ifMatch: string | undefined): OperationRecord {
    const { state } = this.#options;
    const nic = this.#nic(path);
    const vm = state.vm(nic.vmId);
    if (vm?.scaleSet?.mode === 'Uniform') throw new ArmApiError(400, 'OperationNotAllowed', `NIC ${nic.name} belongs to a Uniform scale-set instance; change it through the instance's network profile.`);
    const desired = decodeNicPut(body);
    const concurrent = this.#takeFault('concurrentWrite');
    if (concurrent !== undefined) state.addForeignConfig(nic.id, concurrent.name);
    const fail = this.#takeFault('failOperation');
    return state.startNicUpdate(nic, desired, { ifMatch, etagOf: () => nic.etag, target: nic.id, ...(fail === undefined ? {} : { fail }) });
  }

  #putScaleSetVm(path: string, body: unknown, ifMatch: string | undefined): OperationRecord {
    const { state } = this.#options;
    const vm = this.#vm(path);
    const byNic = decodeScaleSetVmPut(body);
    const nics = vm.nicIds.flatMap((id) => {
      const nic = state.nic(id);
      return nic === undefined ? [] : [nic];
    });
    const changed = nics.filter((n) => {
      const desired = byNic.get(n.name.toLowerCase());
      const current = state.visibleConfigs(n).map((c) => c.name.toLowerCase()).join(',');
      return desired !== undefined && desired.map((c) => c.name.toLowerCase()).join(',') !== current;
    });
    if (changed.length !== 1) throw new ArmApiError(400, 'InvalidRequestFormat', `the emulator accepts changes to exactly one NIC configuration per instance update (got ${changed.length})`);
    const nic = changed[0] as NicRecord;
    const fail = this.#takeFault('failOperation');
    return state.startNicUpdate(nic, byNic.get(nic.name.toLowerCase()) ?? [], { ifMatch, etagOf: () => vm.etag, target: vm.id, ...(fail === undefined ? {} : { fail }) });
  }

  #get(res: ServerResponse, route: string, path: string, match: RegExpExecArray | readonly string[]): void {
    const { state } = this.#options;
    switch (route) {
      case 'NetworkInterface':
      case 'ScaleSetVmNetworkInterface':
        return send(res, 200, nicJson(state, this.#nic(path)));
      case 'VirtualMachine': {
        const vm = this.#vm(path);
        return send(res, 200, vmJson(state, vm));
      }
      case 'ScaleSetVm':
        return send(res, 200, scaleSetVmJson(state, this.#vm(path)));
      case 'VirtualNetwork':
        if (path.toLowerCase() !== state.vnetId.toLowerCase()) throw notFound(path);
        return send(res, 200, vnetJson(state));
      case 'Operation': {
        const op = state.operations.get(match[3] ?? '');
        if (op === undefined) throw notFound(path);
        return send(res, 200, { id: op.id, name: op.id, status: op.status, ...(op.error === undefined ? {} : { error: op.error }) }, op.status === 'InProgress' ? this.#lroRetryAfter() : {});
      }
      default:
        throw notFound(path);
    }
  }

  #lroRetryAfter(): Record<string, string> {
    const seconds = this.#options.lroRetryAfterSec;
    return seconds === undefined ? {} : { 'retry-after': String(seconds) };
  }

  #nic(path: string): NicRecord {
    const nic = this.#options.state.nic(path);
    if (nic === undefined) throw notFound(path);
    return nic;
  }

  #vm(path: string) {
    const vm = this.#options.state.vm(path);
    if (vm === undefined) throw notFound(path);
    return vm;
  }
}

function notFound(path: string): ArmApiError {
  return new ArmApiError(404, 'ResourceNotFound', `The Resource '${path}' was not found.`);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new ArmApiError(400, 'InvalidRequestContent', 'The request body is not valid JSON.');
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'x-ms-request-id': `${Date.now()}`, ...headers });
  res.end(text);
}
