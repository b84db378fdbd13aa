/**
 * Starts `moto_server` on a free loopback port for a test suite and stops it afterwards.
 * moto checks EC2 request and response shapes; it enforces no limits (no ENI or address caps, no throttling).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freeLoopbackPort as freePort } from '../../../src/demo/free-port.js';

export interface MotoServer {
  readonly url: string;
  /** Wipes moto's state (`POST /moto-api/reset`). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** Why moto tests cannot run here, or undefined when `moto_server` is installed. */
export function motoUnavailableReason(): string | undefined {
  const probe = spawnSync(motoServerPath(), ['--help'], { stdio: 'ignore' });
  if (probe.error !== undefined || probe.status !== 0) {
    return "moto_server is not installed (pip install 'moto[server]'); skipping the moto suite";
  }
  return undefined;
}


async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${output()}`);
    try {
      const response = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`moto_server at ${url} did not become ready within 30 s: ${output()}`);
}

/** scripts/setup.sh puts moto in .tmp/venv where the system Python refuses pip; else it is on PATH. */
function motoServerPath(): string {
  const venv = fileURLToPath(new URL('../../../.tmp/venv/bin/moto_server', import.meta.url));
  return existsSync(venv) ? venv : 'moto_server';
}

export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(motoServerPath(), ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const collect = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  try {
    await waitReady(url, child, () => log);
  } catch (error) {
    child.kill('SIGTERM');
    throw error;
  }
  return {
    url,
    reset: async () => {
      const response = await fetch(`${url}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
