import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REDACTION_CENSOR, createLogger } from '../../src/ipamd/logger.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nativeip-logger-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function lines(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('createLogger', () => {
  it('writes JSON lines to a file, creating its directory, at the level asked', () => {
    const path = join(dir, 'nested', 'ipamd.log');
    const logger = createLogger({ level: 'info', destination: path });
    logger.debug('hidden');
    logger.info({ interfaceId: 'eni-1' }, 'attached');
    const written = lines(path);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ level: 30, msg: 'attached', interfaceId: 'eni-1' });
    expect(typeof written[0]?.time).toBe('string');
  });

  it('appends to an existing file', () => {
    const path = join(dir, 'ipamd.log');
    createLogger({ level: 'info', destination: path }).info('first');
    createLogger({ level: 'info', destination: path }).info('second');
    expect(lines(path).map((l) => l.msg)).toEqual(['first', 'second']);
  });

  it('redacts credential-looking fields at the top level, one level down and in headers', () => {
    const path = join(dir, 'ipamd.log');
    const logger = createLogger({ level: 'trace', destination: path });
    logger.info(
      {
        password: 'top-password',
        credentials: { accessKeyId: 'AKIAKEEP', secretAccessKey: 'SECRET-1', sessionToken: 'TOKEN-1' },
        azure: { clientSecret: 'SECRET-2', accessToken: 'TOKEN-2' },
        imds: { access_token: 'TOKEN-3' },
        request: { authorization: 'AWS4-HMAC-SHA256 SIG-1', password: 'SECRET-3' },
        headers: { authorization: 'Bearer SIG-2', 'x-amz-security-token': 'TOKEN-4' },
        req: { headers: { authorization: 'Bearer SIG-3', 'x-amz-security-token': 'TOKEN-5', host: 'ec2' } },
      },
      'call',
    );
    const raw = readFileSync(path, 'utf8');
    for (const secret of ['top-password', 'SECRET-', 'TOKEN-', 'SIG-']) expect(raw).not.toContain(secret);
    const [line] = lines(path);
    expect(line).toMatchObject({
      password: REDACTION_CENSOR,
      credentials: { accessKeyId: 'AKIAKEEP', secretAccessKey: REDACTION_CENSOR, sessionToken: REDACTION_CENSOR },
      azure: { clientSecret: REDACTION_CENSOR, accessToken: REDACTION_CENSOR },
      imds: { access_token: REDACTION_CENSOR },
      request: { authorization: REDACTION_CENSOR, password: REDACTION_CENSOR },
      headers: { authorization: REDACTION_CENSOR, 'x-amz-security-token': REDACTION_CENSOR },
      req: { headers: { authorization: REDACTION_CENSOR, 'x-amz-security-token': REDACTION_CENSOR, host: 'ec2' } },
    });
  });

  it('redacts in child loggers’ bindings too', () => {
    const path = join(dir, 'ipamd.log');
    createLogger({ level: 'info', destination: path }).child({ auth: { password: 'SECRET' } }).info('x');
    expect(readFileSync(path, 'utf8')).not.toContain('SECRET');
  });

  it('fails at creation when the file cannot be opened', () => {
    const path = join(dir, 'ipamd.log');
    createLogger({ level: 'info', destination: path }).info('x');
    expect(() => createLogger({ level: 'info', destination: join(path, 'under-a-file.log') })).toThrow();
  });

  it('creates a stderr logger without writing anything', () => {
    const logger = createLogger({ level: 'silent' });
    expect(logger.level).toBe('silent');
    expect(createLogger({ level: 'warn', destination: 'stderr' }).isLevelEnabled('info')).toBe(false);
  });
});
