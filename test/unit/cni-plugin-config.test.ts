import { describe, expect, it } from 'vitest';

import { CniError } from '../../src/cni/plugin/cni-error.js';
import { DEFAULT_TIMEOUT_MS, decodeStdin, parseNetworkConfig, peekCniVersion } from '../../src/cni/plugin/config.js';
import { findJsonSyntaxError } from '../../src/cni/plugin/json-syntax.js';

function cniError(fn: () => unknown): CniError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CniError);
    return err as CniError;
  }
  throw new Error('expected a CniError');
}

const bytes = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const base = { cniVersion: '1.0.0', name: 'nativeip', type: 'nativeip-cni' };

describe('decodeStdin', () => {
  it('decodes a JSON object', () => {
    expect(decodeStdin(bytes(JSON.stringify(base)))).toEqual(base);
  });

  it.each([
    ['empty stdin', '', 'failed to decode content: stdin is empty; expected the network configuration JSON'],
    [
      'a missing value',
      '{"cniVersion": "1.0.0",\n "name": }',
      "failed to decode content: invalid JSON at line 2, column 10 (offset 33): expected a value, found '}'",
    ],
    [
      'a trailing comma',
      '{"a": 1,}',
      "failed to decode content: invalid JSON at line 1, column 9 (offset 8): expected a double-quoted property name, found '}'",
    ],
    [
      'a truncated document',
      '{"a": [1, 2',
      "failed to decode content: invalid JSON at line 1, column 12 (offset 11): expected ',' or ']' after an array element, found the end of the input",
    ],
    ['an array', '[1]', 'failed to decode content: the network configuration must be a JSON object, got an array'],
    ['null', 'null', 'failed to decode content: the network configuration must be a JSON object, got null'],
  ])('rejects %s with code 6', (_name, text, msg) => {
    const err = cniError(() => decodeStdin(bytes(text)));
    expect(err.code).toBe(6);
    expect(err.message).toBe(msg);
  });

  it('keeps the runtime parser message in details', () => {
    const err = cniError(() => decodeStdin(bytes('{x}')));
    expect(err.details).toBeTruthy();
  });

  it('rejects invalid UTF-8 with code 6', () => {
    const err = cniError(() => decodeStdin(Uint8Array.from([0x7b, 0xff, 0x7d])));
    expect(err.code).toBe(6);
    expect(err.message).toBe('failed to decode content: stdin is not valid UTF-8');
  });
});

describe('findJsonSyntaxError', () => {
  it.each([
    '{}',
    '[]',
    '{"a":[1,-2.5e+3,true,false,null,"\\u00e9\\n"]}',
    ' \n"x" \n',
    '0',
  ])('accepts %j', (text) => {
    expect(findJsonSyntaxError(text)).toBeUndefined();
    expect(() => JSON.parse(text)).not.toThrow();
  });

  it.each([
    ['{"a" 1}', 5, "expected ':' after a property name, found '1'"],
    ['{"a":01}', 6, "expected ',' or '}' after a property value, found '1'"],
    ['"abc', 4, 'unterminated string'],
    ['"a\\x"', 2, "invalid escape '\\x'"],
    ['"a\tb"', 2, 'control character U+0009 in a string (escape it)'],
    ['{} {}', 3, "unexpected '{' after the JSON value"],
    ['tru', 3, "expected 'true', found the end of the input"],
    ['1.', 2, "expected a digit after '.', found the end of the input"],
  ])('locates the error in %j', (text, offset, problem) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(findJsonSyntaxError(text)).toMatchObject({ offset, problem });
  });
});

describe('parseNetworkConfig', () => {
  it('applies defaults', () => {
    expect(parseNetworkConfig(base)).toEqual({
      ...base,
      socketPath: '/run/nativeip/ipamd.sock',
      timeoutMs: DEFAULT_TIMEOUT_MS,
      logLevel: 'info',
    });
  });

  it('reads our keys and keeps prevResult', () => {
    const prevResult = { cniVersion: '1.0.0', ips: [] };
    expect(
      parseNetworkConfig({
        ...base,
        cniVersion: '0.3.1',
        socketPath: '/tmp/x.sock',
        mtu: 9001,
        timeoutMs: 500,
        logFile: '/var/log/nativeip-cni.log',
        logLevel: 'debug',
        prevResult,
        unknownKey: 1,
      }),
    ).toEqual({
      ...base,
      cniVersion: '0.3.1',
      socketPath: '/tmp/x.sock',
      mtu: 9001,
      timeoutMs: 500,
      logFile: '/var/log/nativeip-cni.log',
      logLevel: 'debug',
      prevResult,
    });
  });

  it.each([
    [
      'an unknown cniVersion',
      { ...base, cniVersion: '0.2.0' },
      1,
      'incompatible CNI version "0.2.0": nativeip-cni supports 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0',
    ],
    ['a missing cniVersion', { name: 'n', type: 't' }, 7, 'invalid network config: cniVersion is required'],
    [
      'a numeric cniVersion',
      { ...base, cniVersion: 1 },
      7,
      'invalid network config: cniVersion: expected a string such as "1.0.0", got number 1',
    ],
    ['a missing name', { cniVersion: '1.0.0', type: 't' }, 7, 'invalid network config: name is required'],
    [
      'several bad keys at once',
      { ...base, mtu: 20, timeoutMs: 'soon', logLevel: 'loud', socketPath: 'rel.sock' },
      7,
      'invalid network config: socketPath: expected an absolute path, got string "rel.sock"; ' +
        'mtu: expected an integer from 68 to 65535, got number 20; ' +
        'timeoutMs: expected an integer from 1 to 600000 (milliseconds), got string "soon"; ' +
        'logLevel: expected one of debug, info, warn, error, got string "loud"',
    ],
    [
      'a bad network name',
      { ...base, name: 'my net' },
      7,
      'invalid network config: name: "my net" is not a valid network name (an alphanumeric character, then alphanumerics, \'_\', \'.\' or \'-\')',
    ],
    ['a missing type', { cniVersion: '1.0.0', name: 'n' }, 7, 'invalid network config: type: expected a non-empty string, got nothing'],
  ])('rejects %s', (_name, raw, code, msg) => {
    const err = cniError(() => parseNetworkConfig(raw));
    expect(err.code).toBe(code);
    expect(err.message).toBe(msg);
  });

  it('peekCniVersion returns only supported versions', () => {
    expect(peekCniVersion({ cniVersion: '0.4.0' })).toBe('0.4.0');
    expect(peekCniVersion({ cniVersion: '9.9.9' })).toBeUndefined();
    expect(peekCniVersion(undefined)).toBeUndefined();
  });
});
