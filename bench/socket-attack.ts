/**
 * The daemon's resident set under the socket attacks of issue 9: the built nativeip-ipamd on an
 * emulated t3.medium; 1,000 idle connections, then 1,100 more (past the 2,048 cap); then 400
 * connections each announcing a 1 MiB frame and sending all but 64 KiB of it; then peers that
 * never read their replies: 500 connections each writing 32 STATUS requests at once (the replies
 * fit in the kernel's socket buffers), and 500 each writing 1,000 (they do not, so the daemon has
 * to hold or drop them). VmRSS before, its peak sampled every 100 ms from the attack's start to
 * 60 s after the daemon closed the last of its connections, and at marks after that close. A
 * normal STATUS is asked every second during each attack and once after. Root only. Prints
 * figures and writes them to BENCHMARKS.md; asserts nothing (test/integration/socket-limits.test.ts
 * and rpc-reply-backlog.test.ts hold the limits).
 * Run: npm run build && node scripts/run-ts.mjs bench/socket-attack.ts [--no-write]
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectPeers, errorOf, peakRssMiB, rssMiB, serverConnections, stalledFrame, statusRequests, type Peer } from '../src/demo/socket-attack.js';
import { callDaemon } from '../src/rpc/client.js';
import { MAX_FRAME_BYTES } from '../src/rpc/protocol.js';
import { buildRevision } from './lib/build-revision.js';
import { MachineLoadSampler, describeLoad } from './lib/machine-load.js';
import { REPO_ROOT, machineLine, writeSection } from './lib/report.js';
import { startAwsCluster } from '../src/emulator/aws/cluster.js';

const WRITE = !process.argv.includes('--no-write');
const BIN_DIR = process.env['NATIVEIP_BENCH_BIN'] ?? join(REPO_ROOT, 'dist', 'bin');
const AFTER_MARKS_S = [0, 10, 30, 60] as const;
/** The footprint sections' target for an idle daemon with 250 pods (bench/footprint.ts). */
const IDLE_TARGET_MIB = 100;

interface StatusProbe {
  readonly served: number;
  readonly slowestMs: number;
  /** Failure messages (digits folded), with how often each came. */
  readonly failures: ReadonlyMap<string, number>;
}

interface AttackFigures {
  readonly name: string;
  readonly before: number;
  readonly peak: number;
  /** VmHWM once the attack's window ended: the daemon's highest resident set since it started. */
  readonly hwm: number;
  readonly after: ReadonlyMap<number, number>;
  readonly peers: number;
  readonly mostHeld: number;
  readonly closedS: number;
  readonly endings: ReadonlyMap<string, number>;
  readonly repliesReceived: { readonly min: number; readonly max: number };
  /** The daemon's own reasons for dropping a peer that does not read (its log), with counts. */
  readonly dropReasons: ReadonlyMap<string, number>;
  readonly during: StatusProbe;
  readonly statusAfter: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fold = (text: string) => text.replace(/\d+/g, 'N');
/** "a", "a and b", "a, b and c". */
const listed = (items: readonly string[]) => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1) ?? ''}`);
const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
const tally = (map: ReadonlyMap<string, number>) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .map(([what, n]) => `${n.toLocaleString('en-US')} ${what}`)
    .join('; ');

/** How the daemon ended a peer's connection, from what the peer read once it read everything. */
function ending(peer: Peer): string {
  if (!peer.closed) return 'still open';
  const notice = errorOf(peer.frames.find((frame) => (frame as { id?: unknown }).id === 0));
  const error = peer.error === undefined ? '' : ` (${peer.error})`;
  if (notice === undefined) return `closed without a notice${error}`;
  const kind = /^no request on this connection/.test(notice.message)
    ? 'idle'
    : /is serving \d+ connections, its limit/.test(notice.message)
      ? 'over the connection cap'
      : /not completed within|no complete frame header/.test(notice.message)
        ? 'frame not completed in time'
        : /^refused a frame/.test(notice.message)
          ? 'frame refused, shared budget full'
          : fold(notice.message);
  return `closed with a ${notice.code} notice: ${kind}${error}`;
}

/** Replies to requests (not the daemon's id-0 notices) a peer read. */
const replies = (peer: Peer) => peer.frames.filter((frame) => (frame as { id?: unknown }).id !== 0).length;

async function main(): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'nativeip-socket-bench-'));
  const load = new MachineLoadSampler();
  load.start();
  const cluster = await startAwsCluster({ prefix: 'bsa-', nodes: 1, instanceType: 't3.medium', binDir: BIN_DIR, workDir, daemonEnv: { NATIVEIP_LOG_LEVEL: 'info' } });
  const node = cluster.nodes[0]!;
  const pid = node.process!.pid!;
  const status = async (): Promise<{ ok: true; ms: number } | { ok: false; message: string }> => {
    const started = Date.now();
    try {
      await callDaemon(node.socketPath, 'status', {}, { timeoutMs: 5_000 });
      return { ok: true, ms: Date.now() - started };
    } catch (error) {
      return { ok: false, message: (error as Error).message.replaceAll(node.socketPath, 'the socket') };
    }
  };
  const attacks: AttackFigures[] = [];
  let baseline = 0;
  try {
    await cluster.waitForPool(node, 1);
    await sleep(5_000);
    baseline = rssMiB(pid);
    const measure = async (name: string, attack: () => Promise<Peer[]>): Promise<void> => {
      const before = rssMiB(pid);
      const logStart = (await stat(node.logFile)).size;
      let peak = before;
      let mostHeld = 0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssMiB(pid));
        mostHeld = Math.max(mostHeld, serverConnections(pid, node.socketPath));
      }, 100);
      // A normal STATUS every second while the attack's connections are open.
      let attacking = true;
      const probe = { served: 0, slowestMs: 0, failures: new Map<string, number>() };
      const prober = (async () => {
        while (attacking) {
          const result = await status();
          if (result.ok) {
            probe.served += 1;
            probe.slowestMs = Math.max(probe.slowestMs, result.ms);
          } else {
            count(probe.failures, fold(result.message));
          }
          await sleep(1_000);
        }
      })();
      const started = Date.now();
      const peers = await attack();
      // A peer that does not read sees no close, so wait on the daemon's side (the prober's own
      // connection may be open at a sample; it lasts milliseconds).
      const deadline = Date.now() + 90_000;
      while (serverConnections(pid, node.socketPath) > 0 && Date.now() < deadline) await sleep(100);
      const closedS = (Date.now() - started) / 1000;
      attacking = false;
      await prober;
      const after = new Map<number, number>();
      const closedAt = Date.now();
      for (const p of peers) p.socket.resume();
      const untilClosed = Date.now() + 10_000;
      while (peers.some((p) => !p.closed) && Date.now() < untilClosed) await sleep(100);
      const endings = new Map<string, number>();
      for (const p of peers) count(endings, ending(p));
      for (const p of peers) p.socket.destroy();
      for (const atS of AFTER_MARKS_S) {
        await sleep(Math.max(0, closedAt + atS * 1_000 - Date.now()));
        after.set(atS, rssMiB(pid));
      }
      clearInterval(sampler);
      peak = Math.max(peak, rssMiB(pid));
      const statusAfter = await status();
      const dropReasons = new Map<string, number>();
      const log = (await readFile(node.logFile)).subarray(logStart).toString('utf8');
      for (const line of log.split('\n')) {
        if (!line.includes('does not read its replies')) continue;
        const message = (JSON.parse(line) as { msg: string }).msg;
        count(dropReasons, fold(/\((.*)\)/.exec(message)?.[1] ?? message));
      }
      const received = peers.map(replies);
      const figures: AttackFigures = {
        name,
        before,
        peak,
        hwm: peakRssMiB(pid),
        after,
        peers: peers.length,
        mostHeld,
        closedS,
        endings,
        repliesReceived: { min: Math.min(...received), max: Math.max(...received) },
        dropReasons,
        during: probe,
        statusAfter: statusAfter.ok ? `served in ${statusAfter.ms} ms` : `refused: ${statusAfter.message}`,
      };
      attacks.push(figures);
      console.log(name, JSON.stringify({ ...figures, after: [...after], endings: [...endings], dropReasons: [...dropReasons], during: { ...probe, failures: [...probe.failures] } }));
    };
    await measure('1,000 idle connections, then 1,100 more (past the 2,048 cap)', async () => [...(await connectPeers(node.socketPath, 1_000)), ...(await connectPeers(node.socketPath, 1_100))]);
    await measure('400 connections each announcing 1 MiB and sending all but 64 KiB', () => connectPeers(node.socketPath, 400, () => stalledFrame(MAX_FRAME_BYTES, MAX_FRAME_BYTES - 64 * 1024), 50));
    await measure('500 connections each writing 32 STATUS requests at once and reading nothing', () => connectPeers(node.socketPath, 500, () => statusRequests(32), 100, { read: false }));
    await measure('500 connections each writing 1,000 STATUS requests at once and reading nothing', () => connectPeers(node.socketPath, 500, () => statusRequests(1_000), 100, { read: false }));
  } finally {
    await cluster.close();
    await rm(workDir, { recursive: true, force: true });
  }
  const machine = load.stop();
  const mib = (value: number | undefined) => value?.toFixed(1) ?? '–';
  const memory = [
    `| attack | before | peak | after +${AFTER_MARKS_S.join(' s | +')} s | VmHWM so far |`,
    `|---|---|---|${AFTER_MARKS_S.map(() => '---|').join('')}---|`,
    ...attacks.map((a) => `| ${a.name} | ${mib(a.before)} | **${mib(a.peak)}** | ${AFTER_MARKS_S.map((s) => mib(a.after.get(s))).join(' | ')} | ${mib(a.hwm)} |`),
  ].join('\n');
  const probeText = (p: StatusProbe) => {
    const asked = p.served + [...p.failures.values()].reduce((a, b) => a + b, 0);
    const failed = p.failures.size === 0 ? '' : `; not served: ${tally(p.failures)}`;
    return `${p.served} of ${asked} served${p.served > 0 ? `, slowest ${p.slowestMs} ms` : ''}${failed}`;
  };
  const connections = [
    '| attack | connections the daemon held at most | all closed by the daemon after | how each attacking connection ended (as the peer read it) | replies each peer read | dropped as not reading, by the daemon\'s reason | a normal STATUS during (one a second) | a normal STATUS after |',
    '|---|---|---|---|---|---|---|---|',
    ...attacks.map(
      (a) =>
        `| ${a.name} | ${a.mostHeld.toLocaleString('en-US')} | ${a.closedS.toFixed(1)} s | ${tally(a.endings)} | ${a.repliesReceived.min === a.repliesReceived.max ? a.repliesReceived.min : `${a.repliesReceived.min}–${a.repliesReceived.max}`} | ${a.dropReasons.size === 0 ? 'none' : tally(a.dropReasons)} | ${probeText(a.during)} | ${a.statusAfter} |`,
    ),
  ].join('\n');
  const worstPeak = Math.max(...attacks.map((a) => a.peak));
  const worstAfter = Math.max(...attacks.map((a) => a.after.get(60) ?? 0));
  const hwm = Math.max(...attacks.map((a) => a.hwm));
  const kept = attacks.filter((a) => (a.after.get(60) ?? 0) - a.before > 10);
  const keptText =
    kept.length === 0
      ? '60 s after each attack the resident set was within 10 MiB of where that attack started.'
      : `60 s after, the resident set had not come back to where the attack started after ${listed(kept.map((a) => `“${a.name}” (${mib((a.after.get(60) ?? 0) - a.before)} MiB above it)`))}; the check by hand below looks at what stays after the 1,000-request attack.`;
  console.log(`${memory}\n\n${connections}`);
  if (!WRITE) return;
  writeSection(
    'socket-attack',
    [
      '## The daemon under socket attacks',
      '',
      `${machineLine()}. Build: ${buildRevision(BIN_DIR)}. Measured by \`bench/socket-attack.ts\`: the built \`nativeip-ipamd\` (default socket limits: 2,048 connections; 16 MiB shared by partly received frames and replies held for peers that do not read; 1 MiB per frame and per peer's held replies; 10 s idle, partial-frame and unread-reply timeouts) on an emulated t3.medium with no pods, log level info. VmRSS in MiB from /proc: before each attack; the peak sampled every 100 ms from the attack's first connection until 60 s after the daemon had closed the last of its connections (counted in /proc/<pid>/net/unix, so a peer that reads nothing and never sees the close does not hide it); one sample at each mark after that close; and VmHWM, the kernel's own high-water mark since the daemon started (no sampling gap, but the kernel updates it lazily, so it can read a little under a sampled peak; it carries over from one attack to the next). The attacks run one after the other on the same daemon, so each starts from where the one before left off. A STATUS reply is 419 bytes. During the first attack a normal STATUS is refused while the 2,048 idle connections fill the cap (that is the cap at work; a slot frees as they time out after 10 s). While it ran: ${describeLoad(machine)}.`,
      '',
      memory,
      '',
      connections,
      '',
      `Worst cases: the highest resident set sampled was ${mib(worstPeak)} MiB (VmHWM ${mib(hwm)} MiB), against ${mib(baseline)} MiB before the first attack; 60 s after an attack it was at most ${mib(worstAfter)} MiB. The ≤ ${IDLE_TARGET_MIB} MiB target of the footprint sections above is for an idle daemon with 250 pods, not for one under attack, and on Node 24 the daemon misses it even then (those sections); here, with no pods, it started ${baseline > IDLE_TARGET_MIB ? `${mib(baseline - IDLE_TARGET_MIB)} MiB over` : `${mib(IDLE_TARGET_MIB - baseline)} MiB under`} it, peaked ${mib(worstPeak - IDLE_TARGET_MIB)} MiB over it and was still up to ${mib(worstAfter - IDLE_TARGET_MIB)} MiB over it 60 s after an attack. What the socket limits bound is what the daemon holds for attackers (16 MiB of partial frames and unread replies together, 2,048 connections), not its resident set, which also carries the requests it has decoded and the garbage of the replies it made; for the resident set the target is that it comes back once the attack is over. ${keptText}`,
      '',
      'Checked by hand on 2026-12-03, the 1,000-request attack alone on a fresh daemon (commit 4c9829f, a private build made the same way, with the same RPC code as the one above; V8 figures from `process.memoryUsage()` through the inspector, opened with SIGUSR1): 20 s after the daemon had closed the last connection its resident set was 232.9 MiB, with V8\'s heap at 80.2 MiB committed (40.2 MiB used) and 24.3 MiB in ArrayBuffers (reply buffers no longer referenced); after one forced full collection (`HeapProfiler.collectGarbage`) it was 103.1 MiB (heap 20.7 MiB, ArrayBuffers 0.3 MiB) and stayed there. So what stays after that attack is garbage an idle daemon does not collect (nothing allocates, so nothing starts a collection), not a leak; since b816406 the daemon collects it itself once the burst is over (src/ipamd/idle-collector.ts: V8\'s last-resort collection, 91 ms in the log, 232 to 108 MiB), which is what the table above shows. Five of those attacks in a row on one daemon (the working tree\'s build at 614623f, same day) left 223, 249, 251, 258 and 259 MiB 20 s after each (VmHWM 254 … 299 MiB): it levels off. The worst case found by hand (that build too) was a sustained version: 8,000 such connections, 1,300 STATUS requests each, 100 connecting at a time for 66 s. The daemon held at most 244 of them at once in once-a-second samples (its log: the shared 16 MiB budget dropped 6,339, the 10 s unread-reply timeout 1,468; the other 193 were still held when the probe stopped counting); its resident set stayed between 345 and 405 MiB (VmHWM 405.1 MiB); a normal STATUS asked once a second was served 9 times in 26, in 0.9–4.7 s, timed out once at 5 s, and 16 times could not connect (EAGAIN: the listen backlog was full, what Node\'s non-blocking connect in `callDaemon` and the CLI reports; the C plugin\'s blocking connect waits for a slot instead). With 419-byte STATUS replies the 1 MiB per-peer limit is never what trips: Node\'s socket takes 64 KiB of replies (its highWaterMark) before write() says stop, and at most 32 requests are in flight after that, so a peer held at most ~78 KB (77,885 bytes in the daemon\'s log).',
    ].join('\n'),
    { after: 'footprint-kubernetes' },
  );
}

await main();
