import { describe, expect, it } from 'vitest';
import { REDACTED, envSettings, introspect, redact, type IntrospectionViews } from '../../src/ipamd/introspection.js';

describe('introspection', () => {
  it('redacts values of names that look like secrets, at any depth, and keeps the rest', () => {
    const config = { region: 'us-east-1', clientSecret: 's3cr3t', nested: { accessKeyId: 'AKIA', sessionToken: 't', apiKey: 'k', items: [{ password: 'p', name: 'ok' }] }, keyless: 'v' };
    expect(redact(config)).toEqual({ region: 'us-east-1', clientSecret: REDACTED, nested: { accessKeyId: REDACTED, sessionToken: REDACTED, apiKey: REDACTED, items: [{ password: REDACTED, name: 'ok' }] }, keyless: 'v' });
  });

  it('lists the variables the daemon reads as set, secrets redacted, unset and empty ones left out', () => {
    const env = { WARM_IP_TARGET: '5', AWS_SECRET_ACCESS_KEY: 'x', AZURE_CLIENT_SECRET: 'y', NATIVEIP_LOG_LEVEL: '', HOME: '/root' };
    expect(envSettings(['WARM_IP_TARGET', 'AWS_SECRET_ACCESS_KEY', 'AZURE_CLIENT_SECRET', 'NATIVEIP_LOG_LEVEL', 'MAX_ENI'], env)).toEqual({
      AWS_SECRET_ACCESS_KEY: REDACTED,
      AZURE_CLIENT_SECRET: REDACTED,
      WARM_IP_TARGET: '5',
    });
  });

  it('answers 503 naming why before the node is read, and 404 listing the paths for an unknown one', () => {
    const views = {
      status: () => {
        throw new Error('pool manager not started');
      },
      node: () => {
        throw new Error('pool manager not started');
      },
    } as unknown as IntrospectionViews;
    const early = introspect('/v1/enis', views);
    expect(early.status).toBe(503);
    expect(early.body).toContain('pool manager not started');
    const unknown = introspect('/v1/warmpool', views);
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ paths: expect.arrayContaining(['/v1/pool']) });
  });
});
