import { describe, expect, it } from 'vitest';
import { EmulatorCliError, parseAwsEmulatorArgs, runAwsEmulatorCli } from '../../src/emulator/aws/cli.js';

describe('nativeip emulator aws arguments', () => {
  it('parses every flag, in both --flag value and --flag=value forms', () => {
    const args = parseAwsEmulatorArgs([
      '--listen',
      '127.0.0.1:4566',
      '--instances=3',
      '--instance-type',
      't3.medium',
      '--latency-ms',
      'AttachNetworkInterface=200,AssignPrivateIpAddresses=50',
      '--imds-propagation-ms=1500',
      '--detach-delay-ms',
      '800',
      '--throttling',
      '--subnet',
      '10.0.0.0/24',
      '--subnet',
      '10.0.1.0/24',
    ]);
    expect(args).toEqual({
      instances: 3,
      instanceType: 't3.medium',
      emulator: {
        host: '127.0.0.1',
        port: 4566,
        throttling: true,
        latencyMs: { AttachNetworkInterface: 200, AssignPrivateIpAddresses: 50 },
        imdsPropagationMs: 1500,
        detachDelayMs: 800,
        subnets: [{ cidr: '10.0.0.0/24' }, { cidr: '10.0.1.0/24' }],
      },
    });
  });

  it('defaults to one m5.large on a free loopback port', () => {
    expect(parseAwsEmulatorArgs([])).toEqual({
      instances: 1,
      instanceType: 'm5.large',
      emulator: { host: '127.0.0.1', port: 0, throttling: false },
    });
  });

  it.each([
    [['--listen', 'localhost'], '--listen'],
    [['--listen', '127.0.0.1:70000'], '--listen'],
    [['--instances', '-1'], '--instances'],
    [['--instances'], '--instances needs a value'],
    [['--instance-type', 'm9.large'], '--instance-type'],
    [['--latency-ms', 'Attach=fast'], '--latency-ms'],
    [['--imds-propagation-ms', '1.5'], '--imds-propagation-ms'],
    [['--throttling=yes'], '--throttling takes no value'],
    [['--color'], "unknown argument '--color'"],
    [['--instances', '1', '--instances', '2'], '--instances given more than once'],
  ])('%j fails naming the flag', (argv, message) => {
    expect(() => parseAwsEmulatorArgs(argv)).toThrow(EmulatorCliError);
    expect(() => parseAwsEmulatorArgs(argv)).toThrow(message);
  });
});

describe('runAwsEmulatorCli', () => {
  it('prints one JSON line with the EC2 URL and each instance, then stops when told', async () => {
    const lines: string[] = [];
    let stop: () => void = () => undefined;
    const until = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const running = runAwsEmulatorCli(['--instances', '2', '--instance-type', 'c5.large'], {
      write: (line) => {
        lines.push(line);
        stop();
      },
      until,
    });
    await running;
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]!) as { ec2Url: string; instances: { instanceId: string; imdsUrl: string }[] };
    expect(out.ec2Url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(out.instances).toHaveLength(2);
    expect(out.instances[0]?.instanceId).toMatch(/^i-[0-9a-f]{17}$/);
    expect(out.instances[0]?.imdsUrl).not.toBe(out.instances[1]?.imdsUrl);
    await expect(fetch(out.ec2Url)).rejects.toThrow();
  });
});
