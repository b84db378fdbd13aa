/**
 * The daemon's resident set under the socket attacks of issue 9: the built nativeip-ipamd on an
 * emulated t3.medium; 1,000 idle connections, then 1,100 more (past the 2,048 cap); then 400
 * connections each announcing a 1 MiB frame and sending all but 64 KiB of it. VmRSS before, at the
 * height of each attack, and every second for 60 s after its connections have closed. A normal
 * STATUS is asked during and after each. Root only. Prints figures and writes them to
 * BENCHMARKS.md; asserts nothing (test/integration/socket-limits.test.ts holds the limits).
 * Run: npm run build && node scripts/run-ts.mjs bench/socket-attack.ts [--no-write]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmulatedCluster } from '../src/demo/emulated-cluster.js';
import { connectPeers, rssMiB, stalledFrame, type Peer } from '../src/demo/socket-attack.js';
import { callDaemon } from '../src/rpc/client.js';
import { MAX_FRAME_BYTES } from '../src/rpc/protocol.js';
import { buildRevision } from './lib/build-revision.js';
import { MachineLoadSampler, describeLoad } from './lib/machine-load.js';
import { REPO_ROOT, machineLine, writeSection } from './lib/report.js';

const WRITE = !process.argv.includes('--no-write');
const BIN_DIR = process.env['NATIVEIP_BENCH_BIN'] ?? join(REPO_ROOT, 'dist', 'bin');

interface AttackFigures {
  readonly name: string;
  readonly peak: number;
  readonly after: { readonly atS: number; readonly mib: number }[];
  readonly served: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function untilClosed(peers: readonly Peer[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (peers.some((p) => !p.closed) && Date.now() < deadline) await sleep(200);
}

async function main(): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'nativeip-socket-bench-'));
  const load = new MachineLoadSampler();
  load.start();
  const cluster = await EmulatedCluster.start({ prefix: 'bsa-', nodes: 1, instanceType: 't3.medium', binDir: BIN_DIR, workDir, daemonEnv: { NATIVEIP_LOG_LEVEL: 'info' } });
  const node = cluster.nodes[0]!;
  const pid = node.process!.pid!;
  const status = async (): Promise<string> => {
    try {
      await callDaemon(node.socketPath, 'status', {}, { timeoutMs: 5_000 });
      return 'served';
    } catch (error) {
      return `refused: ${(error as Error).message}`;
    }
  };
  const attacks: AttackFigures[] = [];
  let baseline = 0;
  try {
    await cluster.waitForPool(node, 1);
    await sleep(5_000);
    baseline = rssMiB(pid);
    const measure = async (name: string, attack: () => Promise<Peer[]>): Promise<void> => {
      let peak = rssMiB(pid);
      const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 100);
      const peers = await attack();
      const during = await status();
      await untilClosed(peers, 60_000);
      clearInterval(sampler);
      const after: { atS: number; mib: number }[] = [];
      for (let s = 0; s <= 60; s += 1) {
        if (s === 0 || s % 10 === 0) after.push({ atS: s, mib: rssMiB(pid) });
        if (s < 60) await sleep(1_000);
      }
      attacks.push({ name, peak, after, served: `during: ${during}; after: ${await status()}` });
      console.log(name, peak.toFixed(1), after.map((a) => `+${a.atS}s ${a.mib.toFixed(1)}`).join(', '));
    };
    await measure('1,000 idle connections, then 1,100 more (past the 2,048 cap)', async () => [...(await connectPeers(node.socketPath, 1_000)), ...(await connectPeers(node.socketPath, 1_100))]);
    await measure('400 connections each announcing 1 MiB and sending all but 64 KiB', () => connectPeers(node.socketPath, 400, () => stalledFrame(MAX_FRAME_BYTES, MAX_FRAME_BYTES - 64 * 1024), 50));
  } finally {
    await cluster.close();
    await rm(workDir, { recursive: true, force: true });
  }
  const machine = load.stop();
  const table = [
    '| attack | before | peak | after +0 s | +10 s | +30 s | +60 s | a normal STATUS |',
    '|---|---|---|---|---|---|---|---|',
    ...attacks.map((a) => {
      const at = (s: number) => `${a.after.find((x) => x.atS === s)?.mib.toFixed(1) ?? '–'}`;
      return `| ${a.name} | ${baseline.toFixed(1)} | ${a.peak.toFixed(1)} | ${at(0)} | ${at(10)} | ${at(30)} | ${at(60)} | ${a.served} |`;
    }),
  ].join('\n');
  console.log(table);
  if (!WRITE) return;
  writeSection(
    'socket-attack',
    [
      '## The daemon under socket attacks',
      '',
      `${machineLine()}. Build: ${buildRevision(BIN_DIR)}. Measured by \`bench/socket-attack.ts\`: the built \`nativeip-ipamd\` (default socket limits: 2,048 connections, 16 MiB of partly received frames, 1 MiB per frame, 10 s idle and partial-frame timeouts) on an emulated t3.medium with no pods; VmRSS in MiB from /proc, the peak sampled every 100 ms while the attack's connections were open, then one sample at each mark after the last of them closed. The two attacks run one after the other on the same daemon, so the second starts from where the first left off. While it ran: ${describeLoad(machine)}.`,
      '',
      table,
      '',
      'The target is that memory comes back after an attack: what stays above the baseline is V8\'s old space, which it keeps once grown, and glibc\'s heap (the launcher fixes glibc\'s mmap threshold at 32 KiB so large buffers go back to the system; scripts/build.mjs).',
    ].join('\n'),
    { after: 'footprint-kubernetes' },
  );
}

await main();
