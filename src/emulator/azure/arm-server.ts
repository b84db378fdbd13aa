/**
 * The emulated ARM endpoint over https (the SDKs refuse bearer tokens over plain http): the NIC,
 * VM, VNet and scale-set-instance operations nativeip uses, long-running operations polled through
 * `Azure-AsyncOperation`, bearer tokens from the emulated IMDS, the subscription write bucket, and
 * injected faults. Counts calls per operation.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { closeServer, listen, readBody, urlHost } from '../shared/http-util.js';
import type { NicRecord, OperationRecord } from './arm-model.js';
import { decodeNicPut, decodeScaleSetVmPut, ipConfigJson, nicJson, scaleSetVmJson, vmJson, vnetJson } from './arm-render.js';
import type { AzureState } from './arm-state.js';
import { ArmApiError } from './errors.js';
import type { AzureFault } from './faults.js';
import type { WriteBucket } from './write-bucket.js';
import { ARM_FAULT_KINDS, armFaultApplies, armFaultError, legacyRule } from './arm-faults.js';
import { isFaultControl, serveFaultControl } from '../faults/fault-control.js';
import { deliver, hold, holdsBeforeApply } from '../faults/fault-delivery.js';
import type { FaultPlan, FaultRule } from '../faults/fault-plan.js';
import { sleep } from '../../core/sleep.js';

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
  /** The injected faults (see arm-faults.ts for their ARM shape). */
  readonly faults: FaultPlan;
  /** Time source for NotFound-after-create windows. */
  readonly clock: () => number;
}

/** One answer before delivery: status, JSON body, extra headers. */
interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

const GROUP = '^/subscriptions/([^/]+)/resourcegroups/([^/]+)/providers/';
const ROUTES: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  { name: 'NetworkInterface', pattern: new RegExp(`${GROUP}microsoft\\.network/networkinterfaces/([^/]+)$`, 'i') },
  { name: 'NetworkInterfaceIpConfiguration', pattern: new RegExp(`${GROUP}microsoft\\.network/networkinterfaces/([^/]+)/ipconfigurations/([^/]+)$`, 'i') },
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
  /** Lower-case ids of resources (VMs, NICs, IP configurations) and when they were created. */
  readonly #created = new Map<string, number>();
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

  /** Appends a one-shot rule for the next write to the fault plan. */
  injectFault(fault: AzureFault): void {
    this.#options.faults.add([legacyRule(fault)]);
  }

  /** Records that resources were created now (their NotFound-after-create windows start). */
  noteCreated(ids: readonly string[]): void {
    const now = this.#options.clock();
    for (const id of ids) this.#created.set(id.toLowerCase(), now);
  }

  resetCounts(): void {
    this.calls.clear();
    this.throttled.clear();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (isFaultControl(req)) return serveFaultControl(req, res, this.#options.faults, ARM_FAULT_KINDS);
    const url = new URL(req.url ?? '/', 'https://arm');
    const body = await readBody(req);
    if (this.#options.requestLatencyMs > 0) await sleep(this.#options.requestLatencyMs);
    const { state } = this.#options;
    state.settle();
    const route = ROUTES.find((r) => r.pattern.test(url.pathname));
    const method = req.method ?? 'GET';
    const operation = `${method === 'PUT' ? 'Put' : 'Get'}${route?.name ?? 'Unknown'}`;
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
    let rule: FaultRule | undefined;
    let reply: Reply;
    try {
      this.#authorize(req);
      if (route === undefined) throw new ArmApiError(404, 'InvalidResourceType', `The emulator does not serve ${method} ${url.pathname}.`);
      rule = this.#options.faults.decide(operation, (effect) => armFaultApplies(effect, operation, (windowMs) => this.#isYoung(route.name, url.pathname, windowMs)));
      if (holdsBeforeApply(rule) && !(await hold(res, rule.delayMs))) return;
      const injected = rule === undefined ? undefined : armFaultError(rule, operation, url.pathname);
      if (injected !== undefined) throw injected;
      const match = route.pattern.exec(url.pathname) ?? [];
      if (method === 'GET') {
        reply = this.#get(route.name, url.pathname, match);
      } else {
        if (method !== 'PUT' || (route.name !== 'NetworkInterface' && route.name !== 'ScaleSetVm')) {
          throw new ArmApiError(405, 'MethodNotAllowed', `${method} is not supported on ${url.pathname}.`);
        }
        reply = this.#put(route.name, url.pathname, body, header(req, 'if-match'), rule);
      }
    } catch (error) {
      if (!(error instanceof ArmApiError)) throw error;
      if (error.status === 429) this.throttled.set(operation, (this.throttled.get(operation) ?? 0) + 1);
      reply = { status: error.status, body: { error: { code: error.code, message: error.message } }, headers: error.retryAfterSec === undefined ? {} : { 'retry-after': String(error.retryAfterSec) } };
    }
    await deliver(rule, res, () => send(res, reply.status, reply.body, reply.headers));
  }

  #put(route: string, path: string, body: string, ifMatch: string | undefined, rule: FaultRule | undefined): Reply {
    const { state } = this.#options;
    const remaining = this.#admitWrite();
    const parsed: unknown = body === '' ? undefined : parseJson(body);
    const concurrent = rule?.kind === 'concurrentWrite' ? rule.name : undefined;
    const fail = rule?.kind === 'failOperation' ? { code: rule.code, message: rule.message } : undefined;
    const nics = route === 'NetworkInterface' ? [this.#nic(path)] : this.#vm(path).nicIds.flatMap((id) => state.nic(id) ?? []);
    const before = new Set(nics.flatMap((n) => state.visibleConfigs(n).map((c) => `${n.id}/ipConfigurations/${c.name}`.toLowerCase())));
    const op = route === 'NetworkInterface' ? this.#putNic(path, parsed, ifMatch, concurrent, fail) : this.#putScaleSetVm(path, parsed, ifMatch, fail);
    this.noteCreated(nics.flatMap((n) => state.visibleConfigs(n).map((c) => `${n.id}/ipConfigurations/${c.name}`)).filter((id) => !before.has(id.toLowerCase())));
    const resource = route === 'NetworkInterface' ? nicJson(state, this.#nic(path)) : scaleSetVmJson(state, this.#vm(path));
    return {
      status: 200,
      body: resource,
      headers: {
        'azure-asyncoperation': `${this.#baseUrl}/subscriptions/${state.subscriptionId}/providers/Microsoft.Network/locations/${state.location}/operations/${op.id}?api-version=2026-01-01`,
        'x-ms-ratelimit-remaining-subscription-writes': String(remaining),
        ...this.#lroRetryAfter(),
      },
    };
  }

  /** Whether the resource the path names was created less than `windowMs` ago. */
  #isYoung(route: string, path: string, windowMs: number): boolean {
    const { state } = this.#options;
    let id: string | undefined;
    if (route === 'NetworkInterface' || route === 'ScaleSetVmNetworkInterface') id = state.nic(path)?.id;
    else if (route === 'VirtualMachine' || route === 'ScaleSetVm') id = state.vm(path)?.id;
    else if (route === 'NetworkInterfaceIpConfiguration') {
      const [nicPath = '', name = ''] = path.split(/\/ipconfigurations\//i);
      const nic = state.nic(nicPath);
      id = nic === undefined ? undefined : `${nic.id}/ipConfigurations/${name}`;
    }
    const created = id === undefined ? undefined : this.#created.get(id.toLowerCase());
    return created !== undefined && this.#options.clock() - created < windowMs;
  }

  #authorize(req: IncomingMessage): void {
    const auth = header(req, 'authorization');
    const token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
    if (token === undefined || !this.#options.state.tokens.has(token)) {
      throw new ArmApiError(401, 'InvalidAuthenticationToken', 'The access token is missing or was not issued by this (emulated) Azure AD.');
    }
  }

  /** Takes a write token; returns the writes left. */
  #admitWrite(): number {
    const bucket = this.#options.writeBucket;
    if (bucket === undefined) return 1199;
    const take = bucket.take();
    if (!take.ok) {
      const seconds = Math.max(1, Math.ceil(take.waitMs / 1000));
      throw new ArmApiError(429, 'SubscriptionRequestsThrottled', `Number of write requests for subscription '${this.#options.state.subscriptionId}' exceeded the limit of 200 burst, 10 per second.`, seconds);
    }
    return take.remaining;
  }

  #putNic(path: string, body: unknown, ifMatch: string | undefined, concurrent: string | undefined, fail: OperationRecord['fail']): OperationRecord {
    const { state } = this.#options;
    const nic = this.#nic(path);
    const vm = state.vm(nic.vmId);
    if (vm?.scaleSet?.mode === 'Uniform') throw new ArmApiError(400, 'OperationNotAllowed', `NIC ${nic.name} belongs to a Uniform scale-set instance; change it through the instance's network profile.`);
    const desired = decodeNicPut(body);
    if (concurrent !== undefined) state.addForeignConfig(nic.id, concurrent);
    return state.startNicUpdate(nic, desired, { ifMatch, etagOf: () => nic.etag, target: nic.id, ...(fail === undefined ? {} : { fail }) });
  }

  #putScaleSetVm(path: string, body: unknown, ifMatch: string | undefined, fail: OperationRecord['fail']): OperationRecord {
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
    return state.startNicUpdate(nic, byNic.get(nic.name.toLowerCase()) ?? [], { ifMatch, etagOf: () => vm.etag, target: vm.id, ...(fail === undefined ? {} : { fail }) });
  }

  #get(route: string, path: string, match: RegExpExecArray | readonly string[]): Reply {
    const { state } = this.#options;
    switch (route) {
      case 'NetworkInterface':
      case 'ScaleSetVmNetworkInterface':
        return { status: 200, body: nicJson(state, this.#nic(path)) };
      case 'NetworkInterfaceIpConfiguration': {
        const [nicPath = ''] = path.split(/\/ipconfigurations\//i);
        const nic = this.#nic(nicPath);
        const config = state.visibleConfigs(nic).find((c) => c.name.toLowerCase() === (match[4] ?? '').toLowerCase());
        if (config === undefined) throw new ArmApiError(404, 'NotFound', `Resource ${path} not found.`);
        return { status: 200, body: ipConfigJson(nic, config) };
      }
      case 'VirtualMachine': {
        const vm = this.#vm(path);
        return { status: 200, body: vmJson(state, vm) };
      }
      case 'ScaleSetVm':
        return { status: 200, body: scaleSetVmJson(state, this.#vm(path)) };
      case 'VirtualNetwork':
        if (path.toLowerCase() !== state.vnetId.toLowerCase()) throw notFound(path);
        return { status: 200, body: vnetJson(state) };
      case 'Operation': {
        const op = state.operations.get(match[3] ?? '');
        if (op === undefined) throw notFound(path);
        return { status: 200, body: { id: op.id, name: op.id, status: op.status, ...(op.error === undefined ? {} : { error: op.error }) }, headers: op.status === 'InProgress' ? this.#lroRetryAfter() : {} };
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
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'x-ms-request-id': `${Date.now()}`, ...headers });
  res.end(text);
}
