/**
 * The crash campaign: rounds of ADD/DEL storms through the built plugin with kubelet-like
 * retries, while the daemon is killed (-9) at random moments and restarted, a second daemon is
 * started beside the first, the checkpoint is deleted, truncated, garbled or doubled with live
 * pods, and (when asked) the cloud emulator injects faults. After each round the node is let
 * settle and every record is checked (invariants.ts). Needs root and the built binaries.
 */
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StatusResult } from '../../rpc/protocol.js';
import { callDaemon } from '../../rpc/client.js';
import type { CloudFaults, CloudView, FaultActions } from '../cloud-under-test.js';
import type { ClusterNode } from '../emulated-cluster.js';
import { damageCheckpoint, planRound, seededRandom, type CheckpointDamage, type RoundOdds, type RoundPlan } from './chaos.js';
import { addFired, roundFaults, type FaultChoices } from './cloud-faults.js';
import { addressViolations, cloudDisagreements, unreachablePods, type NodeUnderTest } from './invariants.js';
import { KubeletPods } from './kubelet-pods.js';
import { sleep } from '../../core/sleep.js';

/** The daemon's life, as the campaign drives it (EmulatedCluster's start/stop). */
export interface DaemonControl {
  readonly node: ClusterNode;
  start(): Promise<void>;
  kill(): Promise<void>;
  status(): Promise<StatusResult>;
  logTail(lines: number): Promise<string>;
}

export interface CampaignOptions {
  readonly daemon: DaemonControl;
  /** The daemon's node as the cloud has it (EmulatedCluster's `cloud.view`). */
  readonly cloud: CloudView;
  readonly binDir: string;
  readonly vpcHostNetnsPath: string;
  /** Namespace prefix of the pods' network namespaces. */
  readonly prefix: string;
  /** Rounds to run; with `minKills`, more until the daemon has been killed that many times. */
  readonly rounds: number;
  readonly minKills?: number;
  /**
   * How long the checks wait for the node to converge before a broken rule counts: a DEL that
   * found the daemon down succeeds at once (as the AWS VPC CNI's does), and the daemon frees that
   * pod's address and host objects at its next reconcile. Give it the daemon's reconcile interval
   * and then some. Default 30 s.
   */
  readonly convergeMs?: number;
  /**
   * How long the cloud may disagree with the node before it counts (see cloudDisagreements): a
   * leaked ENI the daemon's sweep has not reached yet, addresses a lost reply left out of the pool
   * until the next reconcile, an interface being created or deleted. Give it the longer of the
   * leaked-ENI sweep interval and the reconcile interval, and then some; it must be shorter than
   * `convergeMs`, the checks' window. Default 20 s.
   */
  readonly cloudGraceMs?: number;
  readonly seed: number;
  /** Pod slots: at most this many pods at once (stay under the node's max pods). */
  readonly slots: number;
  readonly odds?: RoundOdds;
  /**
   * The cloud emulator's faults, injected during some rounds' storms (cloud-faults.ts) and aimed at
   * the cloud's `actions` (EmulatedCluster's `cloud.faults` and `cloud.faultActions`). Unset: none.
   */
  readonly faults?: { readonly plan: CloudFaults; readonly actions: FaultActions; readonly choices: FaultChoices };
  /**
   * How long a round's cloud faults last at most (from the storm's start). The storm's pod changes
   * and a daemon restarted or taking over in it run under them; a daemon starting must read the
   * node from the cloud (on Azure three ARM reads per try, each failing 20 % of the time in a
   * fault round) and backs off between tries up to 30 s, so faults that lasted until the daemon
   * answered could outlast the 60 s it is given (the Azure campaign, seed 2, stopped so at round
   * 640). A flaky cloud for a while, then a cloud that answers. Default 10 s.
   */
  readonly faultWindowMs?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

export interface CampaignReport {
  readonly rounds: number;
  readonly kills: number;
  readonly secondDaemons: { refused: number; tookOver: number };
  readonly damage: Record<CheckpointDamage, number>;
  readonly adds: number;
  readonly addFailures: number;
  readonly dels: number;
  readonly delRetries: number;
  readonly pingsChecked: number;
  /** Rounds that had cloud faults, and the faults the cloud injected, by kind. */
  readonly faultRounds: number;
  readonly faultsFired: Record<string, number>;
  /** Broken rules, each with its round; empty when every round held. */
  readonly violations: string[];
  readonly seconds: number;
}

export async function runCrashCampaign(options: CampaignOptions): Promise<CampaignReport> {
  const started = Date.now();
  const window: CheckWindow = { withinMs: options.convergeMs ?? 30_000, graceMs: options.cloudGraceMs ?? 20_000, cloud: options.cloud };
  if (window.graceMs >= window.withinMs) throw new RangeError(`cloudGraceMs (${window.graceMs}) must be shorter than convergeMs (${window.withinMs}): no disagreement could last that long in one window`);
  const random = seededRandom(options.seed);
  const { daemon } = options;
  const pods = new KubeletPods({ binDir: options.binDir, socketPath: daemon.node.socketPath, prefix: options.prefix, slots: options.slots });
  const node: NodeUnderTest = { netnsPath: daemon.node.netnsPath, checkpointPath: daemon.node.checkpointPath, vpcHostNetnsPath: options.vpcHostNetnsPath };
  const report = {
    kills: 0,
    secondDaemons: { refused: 0, tookOver: 0 },
    damage: { deleted: 0, truncated: 0, garbled: 0, doubled: 0 } as Record<CheckpointDamage, number>,
    pingsChecked: 0,
    faultRounds: 0,
    faultsFired: {} as Record<string, number>,
    violations: [] as string[],
  };
  let round = 0;
  const turn = { damage: 0, second: 0 };
  let stopped = false;
  try {
    for (round = 1; round <= options.rounds || report.kills < (options.minKills ?? 0); round += 1) {
      const plan = planRound(random, options.odds, turn);
      const faults = options.faults === undefined ? undefined : roundFaults(options.faults.actions, random, options.faults.choices);
      let faultWindow: NodeJS.Timeout | undefined;
      if (faults !== undefined) {
        options.faults!.plan.set(faults);
        report.faultRounds += 1;
        faultWindow = setTimeout(() => options.faults?.plan.clear(), options.faultWindowMs ?? 10_000);
      }
      try {
        await runRound(plan, pods, options, random, report);
      } catch (error) {
        // A daemon that does not come back (a crash loop) ends the campaign: a violation of its own.
        report.violations.push(`round ${round}: ${(error as Error).message}`);
        options.log?.(`round ${round}: STOPPED: ${(error as Error).message}`);
        stopped = true;
        break;
      } finally {
        // The node settles without faults: the checks see what the daemon made of them.
        clearTimeout(faultWindow);
        options.faults?.plan.clear();
      }
      const live = pods.live();
      const broken = [...(await converged(daemon, window, async (status) => [...(await addressViolations(live, status, node, options.cloud)), ...(await unreachablePods(live, node))])), ...pods.stuck.splice(0)];
      report.pingsChecked += live.length;
      for (const line of broken) report.violations.push(`round ${round}: ${line}`);
      options.log?.(
        `round ${round}/${options.rounds}${options.minKills === undefined ? '' : ` (kills ${report.kills}/${options.minKills})`}: ${describePlan(plan)}${faults === undefined ? '' : ', cloud faults'}; ${live.length} live pods${broken.length === 0 ? '' : `; ${broken.length} VIOLATIONS: ${broken.join(' | ')}`}`,
      );
      if (broken.length > 0) options.log?.(`daemon log tail:\n${await daemon.logTail(40)}`);
    }
    if (!stopped) {
      await pods.removeAll();
      const after = await converged(daemon, window, (status) => addressViolations([], status, node, options.cloud));
      report.violations.push(...after.map((line) => `after removing every pod: ${line}`), ...pods.stuck.splice(0));
    }
  } finally {
    options.faults?.plan.clear();
    await pods.removeAll().catch(() => undefined);
  }
  if (options.faults !== undefined) addFired(report.faultsFired, options.faults.plan.fired());
  return {
    rounds: round - 1,
    ...report,
    adds: pods.counts.adds,
    addFailures: pods.counts.addFailures,
    dels: pods.counts.dels,
    delRetries: pods.counts.delRetries,
    seconds: Math.round((Date.now() - started) / 1000),
  };
}

type Tally = Pick<CampaignReport, 'kills' | 'secondDaemons' | 'damage'>;

async function runRound(plan: RoundPlan, pods: KubeletPods, options: CampaignOptions, random: () => number, report: Tally & { kills: number }): Promise<void> {
  const { daemon } = options;
  const storm = startStorm(plan.changes, pods, random);
  if (plan.secondDaemon !== undefined) await secondDaemon(plan.secondDaemon, options, report);
  if (plan.killAtMs !== undefined) {
    await sleep(plan.killAtMs);
    await daemon.kill();
    report.kills += 1;
    if (plan.damage !== undefined) {
      await damage(daemon.node.checkpointPath, plan.damage, random);
      report.damage[plan.damage] += 1;
    }
    await sleep(plan.restartAfterMs);
    await daemon.start();
  }
  await storm;
}

/** ADDs into empty slots and DELs of live pods, all at once, in a seeded order. */
function startStorm(changes: number, pods: KubeletPods, random: () => number): Promise<void> {
  const { empty, live } = pods.idleSlots();
  const work: Promise<void>[] = [];
  for (let i = 0; i < changes; i += 1) {
    const doAdd = empty.length > 0 && (live.length === 0 || random() < 0.55);
    const from = doAdd ? empty : live;
    if (from.length === 0) break;
    const slot = from.splice(Math.floor(random() * from.length), 1)[0]!;
    work.push(doAdd ? pods.add(slot) : pods.del(slot));
  }
  return Promise.all(work).then(() => undefined);
}

/**
 * A second daemon beside the running one. `refused`: started without waiting, it must exit 3
 * naming the first while the first keeps serving. `takeover`: it waits; the first is killed and
 * the second must serve (it becomes the node's daemon).
 */
async function secondDaemon(mode: 'refused' | 'takeover', options: CampaignOptions, report: Tally): Promise<void> {
  const { node } = options.daemon;
  const first = node.process;
  const child = spawn(join(options.binDir, 'nativeip-ipamd'), [], { env: { ...node.env, NATIVEIP_LOCK_WAIT: mode === 'refused' ? '0' : '60' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (mode === 'refused') {
    const code = await exited;
    if (code !== 3 || !stderr.includes(`(PID ${first?.pid}) holds`)) throw new Error(`a second daemon beside PID ${first?.pid} exited ${code}, not 3 naming it: ${stderr.trim()}`);
    report.secondDaemons.refused += 1;
    return;
  }
  await sleep(300);
  if (child.exitCode !== null) throw new Error(`a waiting second daemon exited ${child.exitCode}: ${stderr.trim()}`);
  await options.daemon.kill();
  node.process = child;
  await waitForStatus(node.socketPath, child, () => stderr);
  report.secondDaemons.tookOver += 1;
}

async function waitForStatus(socketPath: string, child: { exitCode: number | null }, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the daemon exited ${child.exitCode}: ${stderr().trim()}`);
    try {
      await callDaemon(socketPath, 'status', {}, { timeoutMs: 2_000 });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`the daemon did not answer within 60 s: ${(error as Error).message}`);
      await sleep(100);
    }
  }
}

async function damage(path: string, kind: CheckpointDamage, random: () => number): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return;
  }
  const damaged = damageCheckpoint(text, kind, random);
  if (damaged === undefined) await rm(path, { force: true });
  else await writeFile(path, damaged);
}

/** How long the checks of one round may wait for the node to converge, and for the cloud to agree. */
interface CheckWindow {
  readonly withinMs: number;
  readonly graceMs: number;
  readonly cloud: CloudView;
}

/**
 * The violations `check` finds once the node has settled, checked again each second while there
 * are any, for up to `window.withinMs`: what is still broken then is reported. The cloud's
 * disagreements with the node (cloudDisagreements) are checked with them; one counts once it has
 * lasted `window.graceMs` in this window, and one still younger keeps the checks going.
 */
async function converged(daemon: DaemonControl, window: CheckWindow, check: (status: StatusResult) => Promise<string[]>): Promise<string[]> {
  const deadline = Date.now() + window.withinMs;
  let since = new Map<string, number>();
  for (;;) {
    const status = await settled(daemon);
    const broken = await check(status);
    const disagreements = await cloudDisagreements(status, window.cloud);
    const now = Date.now();
    const seen = new Map(disagreements.map((d) => [d.key, since.get(d.key) ?? now]));
    since = seen;
    const lasting = disagreements.filter((d) => now - seen.get(d.key)! >= window.graceMs).map((d) => `${d.text} (for ${Math.round((now - seen.get(d.key)!) / 1000)} s)`);
    if ((broken.length === 0 && disagreements.length === 0) || now > deadline) return [...broken, ...lasting];
    await sleep(1_000);
  }
}

/** STATUS once the daemon has read every record (nothing unsettled) and its reconcile ran. */
async function settled(daemon: DaemonControl): Promise<StatusResult> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await daemon.status();
    if (status.unsettled === undefined) return status;
    if (Date.now() > deadline) throw new Error(`the daemon is still unsettled after 60 s: ${status.unsettled}`);
    await sleep(200);
  }
}

function describePlan(plan: RoundPlan): string {
  const parts = [`${plan.changes} changes`];
  if (plan.secondDaemon !== undefined) parts.push(`second daemon ${plan.secondDaemon}`);
  if (plan.killAtMs !== undefined) parts.push(`kill -9 at ${plan.killAtMs} ms, restart after ${plan.restartAfterMs} ms${plan.damage === undefined ? '' : `, checkpoint ${plan.damage}`}`);
  return parts.join(', ');
}
