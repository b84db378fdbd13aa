import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AzureEmulatorCliError, parseAzureEmulatorArgs, runAzureEmulatorCli } from '../../src/emulator/azure/cli.js';

describe('nativeip emulator azure arguments', () => {
  it('parses every flag, in both --flag value and --flag=value forms', () => {
    const args = parseAzureEmulatorArgs([
      '--listen=127.0.0.1:8443',
      '--vms',
      '2',
      '--nics=2',
      '--vm-size',
      'Standard_D8s_v5',
      '--latency-ms',
      '250',
      '--request-latency-ms=5',
      '--imds-propagation-ms',
      '1500',
      '--no-throttling',
      '--vnet-cidr',
      '10.9.0.0/16',
      '--subnet',
      'nodes=10.9.0.0/20',
      '--subnet=pods=10.9.16.0/20',
      '--scale-set',
      'pool1',
      '--orchestration',
      'Flexible',
      '--ca-file',
      '/tmp/ca.pem',
    ]);
    expect(args).toEqual({
      vms: 2,
      nicsPerVm: 2,
      vmSize: 'Standard_D8s_v5',
      scaleSet: { name: 'pool1', mode: 'Flexible' },
      caFile: '/tmp/ca.pem',
      emulator: {
        host: '127.0.0.1',
        port: 8443,
        operationLatencyMs: 250,
        requestLatencyMs: 5,
        imdsPropagationMs: 1500,
        throttling: false,
        vnetCidr: '10.9.0.0/16',
        subnets: [
          { name: 'nodes', cidr: '10.9.0.0/20' },
          { name: 'pods', cidr: '10.9.16.0/20' },
        ],
      },
    });
  });

  it('defaults to one VM, a few seconds per operation, and ARM write throttling on', () => {
    const args = parseAzureEmulatorArgs([]);
    expect(args).toMatchObject({ vms: 1, nicsPerVm: 1, scaleSet: undefined, caFile: undefined });
    expect(args.emulator).toMatchObject({ host: '127.0.0.1', port: 0, operationLatencyMs: 3000, throttling: true });
    expect(args.emulator).not.toHaveProperty('imdsPropagationMs');
  });

  it.each([
    [['--vms', 'x'], /--vms: 'x' is not a whole number/],
    [['--nics', '9'], /--nics: '9' is not a whole number from 1 to 8/],
    [['--listen', 'localhost'], /--listen: 'localhost' is not HOST:PORT/],
    [['--subnet', '10.0.0.0/24'], /--subnet: '10.0.0.0\/24' is not NAME=CIDR/],
    [['--orchestration', 'Uniform'], /--orchestration needs --scale-set/],
    [['--scale-set', 's', '--orchestration', 'Mixed'], /is not Uniform or Flexible/],
    [['--no-throttling=1'], /takes no value/],
    [['--bogus'], /unknown argument '--bogus'/],
    [['--vms'], /--vms needs a value/],
    [['--imds-propagation-ms', '1.5'], /--imds-propagation-ms: '1.5' is not a whole number/],
  ])('%j is refused', (argv, message) => {
    expect(() => parseAzureEmulatorArgs(argv)).toThrow(AzureEmulatorCliError);
    expect(() => parseAzureEmulatorArgs(argv)).toThrow(message);
  });

  it('runs: prints the endpoints as one JSON line and writes the CA file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nativeip-az-cli-'));
    try {
      let line = '';
      let stop!: () => void;
      const until = new Promise<void>((resolve) => (stop = resolve));
      const run = runAzureEmulatorCli(['--vms', '2', '--ca-file', join(dir, 'ca.pem')], { write: (l) => ((line = l), stop()), until });
      await run;
      const out = JSON.parse(line) as { armUrl: string; caFile: string; vms: { imdsUrl: string; nicIds: string[] }[] };
      expect(out.armUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(out.vms).toHaveLength(2);
      expect(out.vms[0]!.imdsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await readFile(out.caFile, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
