/** Every command reads its flags with the one parser (src/core/cli-flags.ts): both forms, and the same refusals. */
import { describe, expect, it } from 'vitest';
import { InstallCniUsageError, parseInstallCniArgs } from '../../src/cli/install-cni.js';
import { MaxPodsUsageError, parseMaxPodsArgs } from '../../src/cli/max-pods.js';
import { parseSupportBundleArgs, SupportBundleUsageError } from '../../src/cli/support-bundle.js';
import { parseTraceRecordArgs, TraceRecordUsageError } from '../../src/cli/trace-record.js';
import { parseTuneArgs, TuneUsageError } from '../../src/cli/tune.js';

const supportBundle = (argv: readonly string[]) => parseSupportBundleArgs(argv, {});

describe('every command takes --flag=value as --flag value', () => {
  it('max-pods', () => {
    expect(parseMaxPodsArgs(['--instance-type=m5.large', '--max-eni=2', '--json'])).toEqual(parseMaxPodsArgs(['--instance-type', 'm5.large', '--max-eni', '2', '--json']));
    expect(parseMaxPodsArgs(['--instance-type=m5.large', '--cni-max-eni=2']).maxEni).toBe(2);
  });

  it('tune', () => {
    expect(parseTuneArgs(['--trace=t.jsonl', '--machine-type=m5.large', '--chart=c.svg'], ['aws'])).toEqual({ trace: 't.jsonl', machineType: 'm5.large', cloud: 'aws', chart: 'c.svg', json: false });
  });

  it('install-cni', () => {
    expect(parseInstallCniArgs(['--from=/x/shim', '--bin-dir=/b', '--rp-filter-loose'])).toEqual({ from: '/x/shim', binDir: '/b', rpFilterLoose: true });
  });

  it('support-bundle', () => {
    expect(supportBundle(['--out=/tmp/b.tar.gz', '--socket=/s.sock', '--metrics=127.0.0.1:9'])).toMatchObject({ out: '/tmp/b.tar.gz', socket: '/s.sock', metrics: '127.0.0.1:9' });
  });

  it('trace record', () => {
    expect(parseTraceRecordArgs(['--out=t.jsonl', '--nodes=a'])).toMatchObject({ out: 't.jsonl', nodes: { kind: 'names', names: ['a'] } });
  });
});

describe('every command refuses the same mistakes, naming the flag, with its own usage error', () => {
  it.each<[string, () => unknown, new (...args: never[]) => Error, string]>([
    ['max-pods repeated', () => parseMaxPodsArgs(['--instance-type', 'm5.large', '--instance-type=c5.large']), MaxPodsUsageError, '--instance-type given more than once'],
    ['max-pods alias repeated', () => parseMaxPodsArgs(['--instance-type', 'm5.large', '--max-eni', '1', '--cni-max-eni', '2']), MaxPodsUsageError, '--cni-max-eni given more than once (--max-eni is the same flag)'],
    ['max-pods switch with a value', () => parseMaxPodsArgs(['--instance-type', 'm5.large', '--json=yes']), MaxPodsUsageError, '--json takes no value'],
    ['tune alias repeated', () => parseTuneArgs(['--trace', 't', '--instance-type', 'm', '--machine-type', 'n'], ['aws']), TuneUsageError, '--machine-type given more than once (--instance-type is the same flag)'],
    ['install-cni empty value', () => parseInstallCniArgs(['--from=']), InstallCniUsageError, '--from needs a value'],
    ['install-cni repeated', () => parseInstallCniArgs(['--bin-dir', '/a', '--bin-dir', '/b']), InstallCniUsageError, '--bin-dir given more than once'],
    ['support-bundle unknown', () => supportBundle(['--outfile', 'x']), SupportBundleUsageError, 'unknown argument --outfile'],
    ['support-bundle missing value', () => supportBundle(['--out', '--socket', '/s']), SupportBundleUsageError, '--out needs a value'],
    ['support-bundle repeated', () => supportBundle(['--netns', '/a', '--netns=/b']), SupportBundleUsageError, '--netns given more than once'],
    ['trace record repeated', () => parseTraceRecordArgs(['--out', 'a', '--out', 'b']), TraceRecordUsageError, '--out given more than once'],
  ])('%s', (_name, parse, type, message) => {
    expect(parse).toThrow(type);
    expect(parse).toThrow(message);
  });
});
