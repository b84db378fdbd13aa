/**
 * HealthServer on a real loopback socket. The class takes a port and does not report the one it
 * bound, so each test first finds a free port (bind :0, read it, close) and gives it that.
 */
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthServer } from '../../src/ipamd/health-server.js';

const HOST = '127.0.0.1';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, HOST, resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** True when a listener can bind `port` now (i.e. nobody holds it). */
async function canBind(port: number): Promise<boolean> {
  const probe = createServer();
  const bound = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, HOST, () => resolve(true));
  });
  if (bound) await new Promise<void>((resolve) => probe.close(() => resolve()));
  return bound;
}

/** One request on its own connection; the status, the body and the content type. */
function call(port: number, method: string, path: string): Promise<{ status: number; body: string; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port, method, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

let servers: HealthServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function started(notReadyReason: () => string | undefined = () => undefined): Promise<{ server: HealthServer; port: number }> {
  const port = await freePort();
  const server = new HealthServer({ host: HOST, port, notReadyReason, logger: pino({ level: 'silent' }) });
  servers.push(server);
  await server.start();
  return { server, port };
}

describe('HealthServer', () => {
  it('/healthz answers 200 even while not ready', async () => {
    const { port } = await started(() => 'the pool cannot grow');
    expect(await call(port, 'GET', '/healthz')).toEqual({ status: 200, body: 'ok\n', type: 'text/plain; charset=utf-8' });
  });

  it('/readyz answers 200 when ready and 503 with the reason when not, asking on each request', async () => {
    let reason: string | undefined = 'starting: restoring the checkpoint';
    const { port } = await started(() => reason);
    expect(await call(port, 'GET', '/readyz')).toMatchObject({ status: 503, body: 'not ready: starting: restoring the checkpoint\n' });
    reason = undefined;
    expect(await call(port, 'GET', '/readyz')).toMatchObject({ status: 200, body: 'ok\n' });
    reason = 'no free address: 3 of 3 network interfaces';
    expect(await call(port, 'GET', '/readyz')).toMatchObject({ status: 503, body: 'not ready: no free address: 3 of 3 network interfaces\n' });
  });

  it('a query string does not change the path', async () => {
    const { port } = await started();
    expect((await call(port, 'GET', '/readyz?verbose=1')).status).toBe(200);
    expect((await call(port, 'GET', '/healthz?x')).status).toBe(200);
  });

  it.each(['/', '/metrics', '/healthz/', '/readyzz', '/HEALTHZ'])('404 for %s', async (path) => {
    const { port } = await started();
    expect(await call(port, 'GET', path)).toMatchObject({ status: 404, body: 'not found: /healthz and /readyz are served\n' });
  });

  it.each(['POST', 'PUT', 'DELETE'])('405 for %s', async (method) => {
    const { port } = await started();
    expect(await call(port, method, '/healthz')).toMatchObject({ status: 405, body: 'GET only\n' });
  });

  it('HEAD is answered like GET, without a body', async () => {
    const { port } = await started(() => 'not yet');
    expect(await call(port, 'HEAD', '/readyz')).toMatchObject({ status: 503, body: '' });
  });

  it('close() frees the port, also with a keep-alive connection open', async () => {
    const { server, port } = await started();
    const keepAlive = await fetch(`http://${HOST}:${port}/healthz`, { keepalive: true });
    expect(keepAlive.status).toBe(200);
    await keepAlive.text();
    expect(await canBind(port)).toBe(false);
    await server.close();
    expect(await canBind(port)).toBe(true);
    await expect(call(port, 'GET', '/healthz')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('close() before start() and twice is harmless', async () => {
    const server = new HealthServer({ host: HOST, port: await freePort(), notReadyReason: () => undefined, logger: pino({ level: 'silent' }) });
    await server.close();
    await server.start();
    await server.close();
    await server.close();
  });

  it('start() on a port in use throws, naming the address', async () => {
    const { port } = await started();
    const second = new HealthServer({ host: HOST, port, notReadyReason: () => undefined, logger: pino({ level: 'silent' }) });
    await expect(second.start()).rejects.toThrow(`cannot serve health checks on ${HOST}:${port}`);
  });
});
