/**
 * The Azure emulator's fault plan through the real @azure/arm-network client over https: what each
 * kind does to the SDK and to the emulator's state, selection by count and by seeded rate, the
 * HTTP control endpoint, and the one-shot `injectFault` kinds as plan rules.
 */
import { NetworkManagementClient, type NetworkInterface } from '@azure/arm-network';
import { request as httpsRequest, Agent } from 'node:https';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAzureEmulator, type AzureEmulator, type CreatedVm } from '../../src/emulator/azure/index.js';

let emulator: AzureEmulator;
let agent: Agent;
let vm: CreatedVm;
/** Added to the emulator's clock: moves NotFound windows along without waiting. */
let clockOffsetMs = 0;

/** A token from the emulated IMDS, as ManagedIdentityCredential would fetch it. */
function credentialFor(imdsUrl: () => string) {
  return {
    async getToken() {
      const response = await fetch(`${imdsUrl()}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/`, { headers: { Metadata: 'true' } });
      const body = (await response.json()) as { access_token: string; expires_on: string };
      return { token: body.access_token, expiresOnTimestamp: Number(body.expires_on) * 1000 };
    },
  };
}

function client(options: { maxRetries?: number; emu?: AzureEmulator; imdsUrl?: string } = {}): NetworkManagementClient {
  const emu = options.emu ?? emulator;
  const created = new NetworkManagementClient(credentialFor(() => options.imdsUrl ?? vm.imdsUrl), emu.subscriptionId, {
    endpoint: emu.armUrl,
    agent: options.emu === undefined ? agent : new Agent({ ca: emu.caCert }),
    retryOptions: { maxRetries: options.maxRetries ?? 0, retryDelayInMs: 10, maxRetryDelayInMs: 20 },
  });
  return created;
}

const nameOf = (id: string) => id.split('/').pop() ?? '';

async function failure(promise: Promise<unknown>): Promise<{ statusCode: number | undefined; code: string | undefined; name: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as Error & { statusCode?: number; code?: string };
    return { statusCode: e.statusCode, code: e.code, name: e.name, message: e.message };
  }
  throw new Error('expected the call to fail');
}

/** Adds a dynamic IP configuration `name` to the NIC with GET then PUT, waiting for the operation. */
async function addConfig(arm: NetworkManagementClient, nicId: string, name: string, requestTimeoutMs?: number): Promise<NetworkInterface> {
  const nic = await arm.networkInterfaces.get(emulator.resourceGroup, nameOf(nicId));
  const subnet = nic.ipConfigurations?.[0]?.subnet;
  nic.ipConfigurations = [...(nic.ipConfigurations ?? []), { name, ...(subnet === undefined ? {} : { subnet }), privateIPAllocationMethod: 'Dynamic' }];
  return arm.networkInterfaces.beginCreateOrUpdateAndWait(emulator.resourceGroup, nameOf(nicId), nic, {
    updateIntervalInMs: 10,
    ...(requestTimeoutMs === undefined ? {} : { requestOptions: { timeout: requestTimeoutMs } }),
  });
}

const configNames = (nicId: string) => emulator.nic(nicId)?.configs.map((c) => c.name) ?? [];

/** The control endpoint over https with the emulator's certificate. */
function control(emu: AzureEmulator, method: string, path = '', body?: unknown): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${emu.faults.controlUrl}${path}`, { method, ca: emu.caCert }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

beforeAll(async () => {
  emulator = await startAzureEmulator({ seed: 3, clock: () => Date.now() + clockOffsetMs });
  agent = new Agent({ ca: emulator.caCert });
  vm = await emulator.createVm({ name: 'faults' });
});

afterEach(() => {
  emulator.faults.clear();
  emulator.faults.resetFired();
});

afterAll(async () => {
  agent.destroy();
  await emulator?.close();
});

describe('ARM emulator faults through @azure/arm-network', () => {
  it('replyLost on a NIC PUT: the configuration is added, the SDK sees the connection drop; a retried PUT is idempotent', async () => {
    const nicId = vm.nicIds[0]!;
    emulator.faults.add({ kind: 'replyLost', actions: 'PutNetworkInterface', count: 1 });
    const error = await failure(addConfig(client(), nicId, 'lost-1'));
    expect(error.name).toBe('RestError');
    expect(error.statusCode).toBeUndefined();
    expect(configNames(nicId)).toContain('lost-1');
    expect(emulator.faults.fired()).toEqual({ total: 1, byKind: { replyLost: 1 }, byAction: { replyLost: { PutNetworkInterface: 1 } } });

    emulator.faults.add({ kind: 'replyLost', actions: 'PutNetworkInterface', count: 1 });
    await addConfig(client({ maxRetries: 2 }), nicId, 'lost-2');
    expect(configNames(nicId).filter((n) => n === 'lost-2')).toHaveLength(1);
  });

  it('serverError: 500 InternalServerError and 503 ServiceUnavailable in ARM JSON; the SDK retries them', async () => {
    const arm = client();
    const nicName = nameOf(vm.nicIds[0]!);
    emulator.faults.add({ kind: 'serverError', actions: 'GetNetworkInterface', count: 1 }, { kind: 'serverError', status: 503, actions: 'Get*', count: 1 });
    expect(await failure(arm.networkInterfaces.get(emulator.resourceGroup, nicName))).toMatchObject({ statusCode: 500, code: 'InternalServerError' });
    expect(await failure(arm.networkInterfaces.get(emulator.resourceGroup, nicName))).toMatchObject({ statusCode: 503, code: 'ServiceUnavailable' });
    emulator.faults.add({ kind: 'serverError', actions: 'GetNetworkInterface', count: 1 });
    expect((await client({ maxRetries: 1 }).networkInterfaces.get(emulator.resourceGroup, nicName)).id).toBe(vm.nicIds[0]);
  });

  it('serverError on a PUT applies nothing', async () => {
    const nicId = vm.nicIds[0]!;
    emulator.faults.add({ kind: 'serverError', actions: 'PutNetworkInterface', count: 1 });
    expect(await failure(addConfig(client(), nicId, 'never'))).toMatchObject({ statusCode: 500 });
    expect(configNames(nicId)).not.toContain('never');
  });

  it('timeout: the SDK gives up; a PUT is not applied unless applied=true', async () => {
    const nicId = vm.nicIds[0]!;
    emulator.faults.add({ kind: 'timeout', actions: 'PutNetworkInterface', count: 1 });
    const held = await failure(addConfig(client(), nicId, 'held', 200));
    expect(held.name).toMatch(/AbortError|RestError/);
    expect(configNames(nicId)).not.toContain('held');

    emulator.faults.add({ kind: 'timeout', actions: 'PutNetworkInterface', count: 1, applied: true });
    await failure(addConfig(client(), nicId, 'held-applied', 200));
    expect(configNames(nicId)).toContain('held-applied');
  });

  it('latency: the PUT is applied at once, the reply comes delayMs later', async () => {
    const nicId = vm.nicIds[0]!;
    emulator.faults.add({ kind: 'latency', actions: 'PutNetworkInterface', delayMs: 300 });
    const started = Date.now();
    const pending = addConfig(client(), nicId, 'slow');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(configNames(nicId)).toContain('slow');
    await pending;
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('notFoundAfterCreate: a new NIC and a new IP configuration answer 404 until the window passes', async () => {
    clockOffsetMs += 60_000; // every resource so far is older than the window
    emulator.faults.add({ kind: 'notFoundAfterCreate', windowMs: 60_000 });
    const fresh = await emulator.createVm({ name: 'fresh' });
    const arm = client();
    const nicName = nameOf(fresh.nicIds[0]!);
    expect(await failure(arm.networkInterfaces.get(emulator.resourceGroup, nicName))).toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
    expect(await failure(arm.networkInterfaceIPConfigurations.get(emulator.resourceGroup, nicName, 'ipconfig1'))).toMatchObject({ statusCode: 404, code: 'NotFound' });
    // An older NIC is not affected; its new configuration is.
    const older = nameOf(vm.nicIds[0]!);
    await addConfig(arm, vm.nicIds[0]!, 'young');
    expect(await failure(arm.networkInterfaceIPConfigurations.get(emulator.resourceGroup, older, 'young'))).toMatchObject({ statusCode: 404 });
    expect((await arm.networkInterfaceIPConfigurations.get(emulator.resourceGroup, older, 'ipconfig1')).name).toBe('ipconfig1');
    clockOffsetMs += 60_000;
    expect((await arm.networkInterfaces.get(emulator.resourceGroup, nicName)).id).toBe(fresh.nicIds[0]);
    expect((await arm.networkInterfaceIPConfigurations.get(emulator.resourceGroup, older, 'young')).name).toBe('young');
    expect(emulator.faults.fired().byAction).toEqual({
      notFoundAfterCreate: { GetNetworkInterface: 1, GetNetworkInterfaceIpConfiguration: 2 },
    });
  });

  it('throttle as a plan rule: 429 SubscriptionRequestsThrottled with Retry-After, on any operation', async () => {
    emulator.faults.add({ kind: 'throttle', actions: 'GetNetworkInterface', retryAfterSec: 4, count: 1 });
    const error = await failure(client().networkInterfaces.get(emulator.resourceGroup, nameOf(vm.nicIds[0]!)));
    expect(error).toMatchObject({ statusCode: 429, code: 'SubscriptionRequestsThrottled' });
    expect(emulator.throttledCounts()['GetNetworkInterface']).toBeGreaterThanOrEqual(1);
  });

  it('count with skip fires exactly N times; a seeded rate repeats', async () => {
    const arm = client();
    const get = () => arm.networkInterfaces.get(emulator.resourceGroup, nameOf(vm.nicIds[0]!)).then(() => true, () => false);
    emulator.faults.add({ kind: 'serverError', actions: 'GetNetworkInterface', skip: 1, count: 2 });
    const counted: boolean[] = [];
    for (let i = 0; i < 5; i++) counted.push(await get());
    expect(counted).toEqual([true, false, false, true, true]);

    const run = async (seed: number) => {
      emulator.faults.set({ seed, rules: [{ kind: 'serverError', actions: 'GetNetworkInterface', rate: 0.5 }] });
      const outcomes: boolean[] = [];
      for (let i = 0; i < 16; i++) outcomes.push(await get());
      return outcomes;
    };
    const first = await run(9);
    expect(await run(9)).toEqual(first);
    expect(first).toContain(true);
    expect(first).toContain(false);
  });

  it('the control endpoint (https, loopback) sets the plan and reports what fired', async () => {
    const bad = await control(emulator, 'PUT', '', { rules: [{ kind: 'serverError', status: 502 }] });
    expect(bad).toEqual({ status: 400, json: { error: 'rules[0].status: 502 is not 500 or 503', field: 'rules[0].status' } });
    const put = await control(emulator, 'PUT', '', { seed: 1, rules: [{ kind: 'failOperation', actions: 'PutNetworkInterface', count: 1, code: 'InternalServerError', message: 'gave up' }] });
    expect(put.status).toBe(200);
    const error = await failure(addConfig(client(), vm.nicIds[0]!, 'failed-op'));
    expect(error.message).toMatch(/gave up/);
    expect(configNames(vm.nicIds[0]!)).not.toContain('failed-op');
    expect(await control(emulator, 'GET', '/fired')).toEqual({ status: 200, json: { total: 1, byKind: { failOperation: 1 }, byAction: { failOperation: { PutNetworkInterface: 1 } } } });
  });

  it('closes promptly while a request is held forever', async () => {
    const other = await startAzureEmulator({ seed: 4 });
    const otherVm = await other.createVm({ name: 'held' });
    other.faults.set({ rules: [{ kind: 'timeout', actions: 'Get*' }] });
    const held = client({ emu: other, imdsUrl: otherVm.imdsUrl }).networkInterfaces.get(other.resourceGroup, nameOf(otherVm.nicIds[0]!)).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await held).toBeInstanceOf(Error);
  });
});
