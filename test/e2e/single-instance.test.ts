/**
 * One daemon per node: a second nativeip-ipamd started beside the running one (a manual start, a
 * DaemonSet rolled with maxSurge) never serves at the same time. It exits naming the holder's PID,
 * or waits for it to stop and then takes over; the first keeps its socket all along.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { callDaemon } from '../../src/rpc/client.js';
import { DIST_BIN, e2eSkipReason } from './support/cnitool.js';
import { tearDownCluster } from './support/cluster.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';

const skip = e2eSkipReason();
let cluster: AwsCluster | undefined;
let workDir: string | undefined;
let node: ClusterNode;
/** The exit of the daemon holding the node's lock, when a test started it. */
let holderExited: Promise<{ code: number | null; stderr: string }> | undefined;

beforeAll(async () => {
  if (skip !== undefined) return;
  workDir = await mkdtemp(join(tmpdir(), 'nativeip-single-'));
  cluster = await startAwsCluster({ prefix: 'one-', nodes: 1, instanceType: 't3.medium', binDir: DIST_BIN, workDir });
  node = cluster.nodes[0]!;
}, 120_000);

afterAll(async () => {
  await tearDownCluster(cluster, [], workDir);
}, 60_000);

/** Starts a second daemon with the node's environment; resolves with its exit code and stderr. */
function secondDaemon(env: Record<string, string>, logName = 'second.log') {
  const child = spawn(join(DIST_BIN, 'nativeip-ipamd'), [], { env: { ...node.env, NATIVEIP_LOG_FILE: join(workDir!, logName), ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
  return { child, exited };
}

describe.skipIf(skip !== undefined)('a second daemon on the same node', () => {
  it('exits at once with code 3 naming the running daemon, and the first keeps serving', async () => {
    const firstPid = node.process!.pid!;
    const socketBefore = (await readFile(join(workDir!, 'node1', 'ipamd.lock'), 'utf8')).trim();
    expect(socketBefore).toBe(String(firstPid));
    const { exited } = secondDaemon({ NATIVEIP_LOCK_WAIT: '0' });
    const { code, stderr } = await exited;
    expect(code).toBe(3);
    expect(stderr).toContain(`another nativeip-ipamd (PID ${firstPid}) holds ${join(workDir!, 'node1', 'ipamd.lock')}`);
    expect(stderr).toMatch(/only one daemon may serve a node/);
    // The first still owns its socket and its lock.
    expect((await callDaemon(node.socketPath, 'status', {}, { timeoutMs: 5_000 })).pool).toBeDefined();
    expect((await readFile(join(workDir!, 'node1', 'ipamd.lock'), 'utf8')).trim()).toBe(String(firstPid));
  }, 60_000);

  it('waits while the first runs, then takes over once it has stopped (even by kill -9)', async () => {
    const firstPid = node.process!.pid!;
    const { child, exited } = secondDaemon({ NATIVEIP_LOCK_WAIT: '60' });
    let exitedEarly = false;
    void exited.then(() => {
      exitedEarly = true;
    });
    // The second waits: it has logged so, and the first still answers on the socket.
    const secondLog = join(workDir!, 'second.log');
    const deadline = Date.now() + 20_000;
    while (!(await readFile(secondLog, 'utf8').catch(() => '')).includes(`(PID ${firstPid}) holds`)) {
      if (Date.now() > deadline || exitedEarly) throw new Error(`the second daemon never said it waits: ${await readFile(secondLog, 'utf8').catch(() => '(no log)')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await callDaemon(node.socketPath, 'status', {}, { timeoutMs: 5_000 });
    expect(exitedEarly).toBe(false);
    await cluster!.stopDaemon(node, 'SIGKILL');
    // The kernel dropped the lock with the process: the second now serves.
    const served = Date.now() + 60_000;
    for (;;) {
      try {
        await callDaemon(node.socketPath, 'status', {}, { timeoutMs: 2_000 });
        break;
      } catch (error) {
        if (Date.now() > served || exitedEarly) throw new Error(`the second daemon never served: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    expect((await readFile(join(workDir!, 'node1', 'ipamd.lock'), 'utf8')).trim()).toBe(String(child.pid));
    node.process = child;
    holderExited = exited;
  }, 120_000);

  it('a holder whose lock file is deleted exits (code 3) rather than serve beside a daemon that locks the new file', async () => {
    const lockPath = join(workDir!, 'node1', 'ipamd.lock');
    const holderPid = node.process!.pid!;
    const { child, exited } = secondDaemon({ NATIVEIP_LOCK_WAIT: '60' }, 'third.log');
    const thirdLog = join(workDir!, 'third.log');
    const deadline = Date.now() + 20_000;
    while (!(await readFile(thirdLog, 'utf8').catch(() => '')).includes(`(PID ${holderPid}) holds`)) {
      if (Date.now() > deadline) throw new Error(`the third daemon never said it waits: ${await readFile(thirdLog, 'utf8').catch(() => '(no log)')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await rm(lockPath);
    const holder = await holderExited!;
    expect(holder.code).toBe(3);
    expect(holder.stderr).toContain(`${lockPath} was removed or replaced while this daemon held it`);
    const served = Date.now() + 60_000;
    for (;;) {
      try {
        await callDaemon(node.socketPath, 'status', {}, { timeoutMs: 2_000 });
        break;
      } catch (error) {
        if (Date.now() > served) throw new Error(`the third daemon never served: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    expect((await readFile(lockPath, 'utf8')).trim()).toBe(String(child.pid));
    node.process = child;
    holderExited = exited;
  }, 120_000);
});
