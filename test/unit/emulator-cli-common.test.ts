import { describe, expect, it } from 'vitest';
import { parseFlags, parseListen, runUntilStopped, wholeNumber, type FlagSpec } from '../../src/emulator/cli-common.js';

class TestCliError extends Error {}
const fail = (message: string) => new TestCliError(message);
const SPEC: FlagSpec = { values: new Set(['--a', '--many']), switches: new Set(['--on']), repeatable: new Set(['--many']), usage: 'test [--a X] [--many X]... [--on]' };

describe('emulator CLI flags', () => {
  it('reads values in both forms, repeatable flags in order, and switches', () => {
    const flags = parseFlags(['--a=1', '--many', 'x', '--on', '--many=y'], SPEC, fail);
    expect(flags.one('--a')).toBe('1');
    expect(flags.all('--many')).toEqual(['x', 'y']);
    expect(flags.has('--on')).toBe(true);
    expect(flags.has('--b')).toBe(false);
    expect(flags.all('--b')).toBeUndefined();
  });

  it.each([
    [['--a', '1', '--a', '2'], '--a given more than once'],
    [['--a'], '--a needs a value'],
    [['--a', '--on'], '--a needs a value'],
    [['--on=1'], '--on takes no value'],
    [['x'], "unknown argument 'x'; usage: test"],
  ])('%j fails with the cloud error naming the flag', (argv, message) => {
    const parse = () => parseFlags(argv, SPEC, fail).one('--a');
    expect(parse).toThrow(TestCliError);
    expect(parse).toThrow(message);
  });

  it('parses whole numbers and HOST:PORT', () => {
    expect(wholeNumber('--n', '7', 1, 8, fail)).toBe(7);
    expect(() => wholeNumber('--n', '0', 1, 8, fail)).toThrow("--n: '0' is not a whole number from 1 to 8");
    expect(parseListen('[::1]:80', '127.0.0.1:1', fail)).toEqual({ host: '::1', port: 80 });
    expect(() => parseListen('host', '127.0.0.1:1', fail)).toThrow("--listen: 'host' is not HOST:PORT (e.g. 127.0.0.1:1)");
  });

  it('closes the emulator even when setting it up fails', async () => {
    let closed = 0;
    const emulator = { close: async () => void (closed += 1) };
    await expect(runUntilStopped(emulator, { until: Promise.resolve() }, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const lines: string[] = [];
    await runUntilStopped(emulator, { until: Promise.resolve(), write: (l) => lines.push(l) }, () => Promise.resolve({ ok: 1 }));
    expect(lines).toEqual(['{"ok":1}']);
    expect(closed).toBe(2);
  });
});
