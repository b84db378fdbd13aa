/**
 * A daemon killed while a NIC PUT's long-running operation is in flight: the next daemon finds the
 * operation in the checkpoint, finishes it (polls the same operation) and does not PUT again; the
 * NIC ends with exactly the configurations the first daemon intended.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedIdentityCredential } from '@azure/identity';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzureEmulator, type AzureEmulator, type CreatedVm } from '../../src/emulator/azure/index.js';
import { FileCheckpoint } from '../../src/ipamd/checkpoint/checkpoint.js';
import { loadDaemonConfig } from '../../src/ipamd/config/config.js';
import { Daemon } from '../../src/ipamd/daemon.js';
import { AzureProvider } from '../../src/providers/azure/index.js';
import { FakeDatapath } from '../support/fake-datapath.js';

let emulator: AzureEmulator;
let dir: string;
let credential: ManagedIdentityCredential;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nativeip-az-resume-'));
  emulator = await startAzureEmulator({ operationLatencyMs: 1500, seed: 11 });
  const tokenVm = await emulator.createVm({ name: 'token-vm' });
  process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'] = tokenVm.imdsUrl;
  credential = new ManagedIdentityCredential();
});

afterAll(async () => {
  delete process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'];
  await emulator?.close();
  await rm(dir, { recursive: true, force: true });
});

function startDaemon(vm: CreatedVm, name: string) {
  const provider = new AzureProvider({
    credential,
    armEndpoint: emulator.armUrl,
    armCaBundle: emulator.caCert,
    imdsEndpoint: vm.imdsUrl,
    pollIntervalMs: 50,
  });
  const config = loadDaemonConfig({
    WARM_IP_TARGET: '4',
    NATIVEIP_CLOUD: 'azure',
    NATIVEIP_SOCKET: join(dir, `${name}.sock`),
    NATIVEIP_CHECKPOINT: join(dir, 'checkpoint.json'),
    NATIVEIP_LOG_FILE: join(dir, `${name}.log`),
  });
  const daemon = new Daemon({
    config,
    logger: pino({ level: 'silent' }),
    provider,
    datapath: new FakeDatapath(),
    checkpoint: new FileCheckpoint(config.checkpointPath),
  });
  return { daemon, provider };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function savedOperations(): Promise<unknown[] | undefined> {
  const text = await readFile(join(dir, 'checkpoint.json'), 'utf8').catch(() => '');
  if (text === '') return undefined;
  const state = (JSON.parse(text) as { providerState?: { operations?: { poller?: string }[] } }).providerState;
  const ops = state?.operations?.filter((op) => op.poller !== undefined);
  return ops !== undefined && ops.length > 0 ? ops : undefined;
}

describe('Azure: a daemon killed mid-operation', () => {
  it('resumes the operation from the checkpoint instead of issuing a second PUT', async () => {
    const vm = await emulator.createVm({ name: 'resume' });
    const nicId = vm.nicIds[0]!;
    emulator.resetCounts();

    const first = startDaemon(vm, 'first');
    await first.daemon.start();
    // The grow's PUT was accepted and its poller state is on disk: kill the daemon now.
    const saved = await waitFor('the operation in the checkpoint', savedOperations);
    expect(saved).toHaveLength(1);
    expect(emulator.nic(nicId)?.updating).toBe(true);
    first.provider.close();
    await first.daemon.close();
    expect(emulator.callCounts()['PutNetworkInterface']).toBe(1);
    const pollsBefore = emulator.callCounts()['GetOperation'] ?? 0;

    const second = startDaemon(vm, 'second');
    await second.daemon.start();
    try {
      expect(emulator.callCounts()['GetOperation'] ?? 0).toBeGreaterThan(pollsBefore);
      const status = second.daemon.service.status();
      expect(status.pool.total).toBe(4);
      expect(emulator.callCounts()['PutNetworkInterface']).toBe(1);
      const configs = emulator.nic(nicId)!.configs;
      expect(configs.map((c) => c.name)).toEqual(['ipconfig1', 'nativeip-1', 'nativeip-2', 'nativeip-3', 'nativeip-4']);
      expect(configs.every((c) => c.provisioningState === 'Succeeded')).toBe(true);
      expect(await savedOperations()).toBeUndefined();
    } finally {
      second.provider.close();
      await second.daemon.close();
    }
  });

  it('killed before ARM answered the PUT: waits for the NIC to settle instead of writing again', async () => {
    const vm = await emulator.createVm({ name: 'unanswered' });
    const nicId = vm.nicIds[0]!;
    const options = { credential, armEndpoint: emulator.armUrl, armCaBundle: emulator.caCert, imdsEndpoint: vm.imdsUrl, pollIntervalMs: 50 };
    const first = new AzureProvider(options);
    const saved: unknown[] = [];
    first.onResumeStateChange(async () => {
      saved.push(JSON.parse(JSON.stringify(first.resumeState() ?? null)));
    });
    emulator.resetCounts();
    const growing = first.assignAddresses(nicId, 2).catch((e: unknown) => e);
    await waitFor('the PUT accepted', () => (emulator.nic(nicId)?.updating === true ? true : undefined));
    first.close();
    await growing;
    // The first state written: the intent, recorded before the PUT left; no poller yet.
    const intentOnly = saved[0] as { operations: { poller?: string; names: string[] }[] };
    expect(intentOnly.operations[0]).toMatchObject({ kind: 'add', names: ['nativeip-1', 'nativeip-2'] });
    expect(intentOnly.operations[0]!.poller).toBeUndefined();

    const second = new AzureProvider(options);
    second.restoreState(intentOnly, vm.vmId);
    try {
      const node = await second.describeNode();
      expect(node.interfaces[0]!.secondaryIps).toHaveLength(2);
      expect(emulator.callCounts()['PutNetworkInterface']).toBe(1);
      expect(emulator.nic(nicId)!.configs.map((c) => c.name)).toEqual(['ipconfig1', 'nativeip-1', 'nativeip-2']);
      expect(second.resumeState()).toBeUndefined();
    } finally {
      second.close();
    }
  });

  it('operations a checkpoint recorded on another VM (a disk carried over) are dropped, not finished here', async () => {
    const vm = await emulator.createVm({ name: 'carried' });
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (_obj: unknown, msg: string) => warnings.push(msg) };
    const provider = new AzureProvider({ credential, armEndpoint: emulator.armUrl, armCaBundle: emulator.caCert, imdsEndpoint: vm.imdsUrl, pollIntervalMs: 50, logger });
    const elsewhere = '/subscriptions/00000000-0000-4000-8000-0000000c0de5/resourceGroups/nativeip-rg/providers/Microsoft.Compute/virtualMachines/another';
    provider.restoreState({ version: 1, operations: [{ kind: 'add', target: vm.nicIds[0]!, nicId: vm.nicIds[0]!, names: ['nativeip-9'], startedAtMs: 1 }] }, elsewhere);
    try {
      emulator.resetCounts();
      await provider.describeNode();
      expect(warnings).toContain('ignoring NIC operations in flight that the checkpoint recorded on another VM');
      expect(provider.resumeState()).toBeUndefined();
      expect(emulator.callCounts()['PutNetworkInterface'] ?? 0).toBe(0);
    } finally {
      provider.close();
    }
  });
});
