/** NATIVEIP_CLOUD=auto against the real emulated metadata services of both clouds. */
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulator } from '../../src/emulator/aws/index.js';
import { startAzureEmulator, type AzureEmulator } from '../../src/emulator/azure/index.js';
import { detectCloud } from '../../src/ipamd/config/cloud-detect.js';
import { CLOUD_PLUGINS } from '../../src/ipamd/clouds.js';
import { probeAws } from '../../src/providers/aws/plugin.js';
import { probeAzure } from '../../src/providers/azure/plugin.js';

/** Each cloud's metadata endpoint as its settings give it. */
const at = (endpoints: { aws: string; azure: string }, timeoutMs?: number) =>
  detectCloud(CLOUD_PLUGINS, (plugin) => ({ imdsEndpoint: endpoints[plugin.name as 'aws' | 'azure'] }), timeoutMs);

let aws: AwsEmulator;
let azure: AzureEmulator;
let awsImds: string;
let azureImds: string;
let silent: { url: string; close: () => void };

beforeAll(async () => {
  aws = await startAwsEmulator({ seed: 1 });
  azure = await startAzureEmulator({ seed: 1 });
  awsImds = (await aws.launchInstance({ instanceType: 't3.medium' })).imdsUrl;
  azureImds = (await azure.createVm()).imdsUrl;
  // A listener that never answers: the probe must give up after its timeout.
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  silent = { url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
});

afterAll(async () => {
  silent?.close();
  await aws?.close();
  await azure?.close();
});

describe('cloud detection', () => {
  it('each probe recognises only its own cloud', async () => {
    expect(await probeAws(awsImds)).toEqual({ ok: true });
    expect((await probeAws(azureImds)).ok).toBe(false);
    expect(await probeAzure(azureImds)).toEqual({ ok: true });
    expect((await probeAzure(awsImds)).ok).toBe(false);
  });

  it('detects AWS and Azure', async () => {
    expect(await at({ aws: awsImds, azure: awsImds })).toBe('aws');
    expect(await at({ aws: azureImds, azure: azureImds })).toBe('azure');
  });

  it('gives up on a silent service after the timeout and says so', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const address = closed.address();
    const closedUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    await new Promise((resolve) => closed.close(resolve));
    await expect(at({ aws: silent.url, azure: closedUrl }, 200)).rejects.toThrow(
      /no cloud metadata service answered \(AWS: .*TimeoutError; Azure: .*ECONNREFUSED\)/,
    );
  });
});
