/**
 * The long crash campaign (test/e2e/crash-campaign.test.ts is its short CI version), on every
 * emulated cloud that can start a cluster (EmulatorPlugin.cluster, src/emulator/clouds.ts): on one
 * emulated node each, rounds of ADD/DEL storms through the built nativeip-cni with kubelet-like
 * retries until the daemon has been killed (-9) at least N times, with second daemons started
 * beside it, its checkpoint deleted / truncated / garbled / doubled with live pods, and the cloud
 * emulator injecting faults in some rounds (lost replies, 5xx, throttling, timeouts, latency,
 * NotFound right after create). After every round every record is checked
 * (src/demo/crash-campaign/invariants.ts). Root only. Prints the counts and writes them to
 * BENCHMARKS.md (one cloud: its own section `crash-campaign-<cloud>`, so clouds can run side by
 * side); asserts nothing (a violation is a figure of its own, listed in full).
 * Run: npm run build && node scripts/run-ts.mjs bench/crash-campaign.ts [kills per cloud, default 500] [--cloud NAME]… [--no-write] [--seed=N]
 * `--cloud NAME` (repeatable; `--NAME` is short for it) picks clouds by their emulator plugin's
 * name; without it every cloud that can start a cluster runs, in registry order.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCrashCampaign, type CampaignOptions, type CampaignReport } from '../src/demo/crash-campaign/campaign.js';
import { EMULATOR_PLUGINS } from '../src/emulator/clouds.js';
import type { ClusterLauncher } from '../src/emulator/emulator-plugin.js';
import { cloudPlugin } from '../src/ipamd/clouds.js';
import { buildRevision } from './lib/build-revision.js';
import { MachineLoadSampler, describeLoad } from './lib/machine-load.js';
import { REPO_ROOT, machineLine, writeSection } from './lib/report.js';

/** A cloud the campaign can run on: its emulator plugin's name and cluster, and where it sits in the registry. */
interface CampaignCloud {
  readonly name: string;
  readonly cluster: ClusterLauncher;
  /** Its place in EMULATOR_PLUGINS: each cloud's namespaces get their own prefix, so two runs can go side by side. */
  readonly index: number;
}

const LAUNCHABLE: readonly CampaignCloud[] = EMULATOR_PLUGINS.flatMap((p, index) => (p.cluster === undefined ? [] : [{ name: p.name, cluster: p.cluster, index }]));

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    cloud: { type: 'string', multiple: true },
    'no-write': { type: 'boolean' },
    seed: { type: 'string' },
    ...Object.fromEntries(EMULATOR_PLUGINS.map((p) => [p.name, { type: 'boolean' as const }])),
  },
});
/** The flags again, indexable by a cloud's name (`--NAME` is `--cloud NAME`). */
const cloudFlags: Readonly<Record<string, unknown>> = flags;

/** The clouds `--cloud NAME` / `--NAME` pick, in registry order; every launchable cloud without either. */
function chooseClouds(): readonly CampaignCloud[] {
  const asked = [...(flags.cloud ?? []), ...EMULATOR_PLUGINS.filter((p) => cloudFlags[p.name] === true).map((p) => p.name)];
  for (const name of asked) {
    if (!EMULATOR_PLUGINS.some((p) => p.name === name)) throw new Error(`--cloud ${name}: no emulated cloud of that name (known: ${EMULATOR_PLUGINS.map((p) => p.name).join(', ')})`);
    if (!LAUNCHABLE.some((c) => c.name === name)) throw new Error(`--cloud ${name}: its emulator plugin cannot start a cluster (EmulatorPlugin.cluster)`);
  }
  return asked.length === 0 ? LAUNCHABLE : LAUNCHABLE.filter((c) => asked.includes(c.name));
}

function wholeNumber(text: string, what: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${what} ${JSON.stringify(text)} is not a whole number`);
  return value;
}

const KILLS = wholeNumber(positionals[0] ?? '500', 'kills per cloud');
const WRITE = flags['no-write'] !== true;
const SEED = wholeNumber(typeof flags.seed === 'string' ? flags.seed : '1', '--seed');
const CLOUDS = chooseClouds();
const BIN_DIR = process.env['NATIVEIP_BENCH_BIN'] ?? join(REPO_ROOT, 'dist', 'bin');
/** Pod slots: under t3.medium's 17 max pods, and a fair share of one Azure NIC. */
const SLOTS = 12;
const DAEMON_ENV = { IP_COOLDOWN_PERIOD: '2', WARM_IP_TARGET: '1', NATIVEIP_RECONCILE_INTERVAL: '10', NATIVEIP_ENI_GC_INTERVAL: '5', NATIVEIP_LOG_LEVEL: 'info' };

interface CloudRun {
  readonly cloud: CampaignCloud;
  readonly report: CampaignReport;
}

async function runOn(cloud: CampaignCloud): Promise<CloudRun> {
  const workDir = await mkdtemp(join(tmpdir(), `nativeip-crash-${cloud.name}-`));
  const prefix = `bcr-${cloud.index}-`;
  const cluster = await cloud.cluster.start({ prefix, nodes: 1, binDir: BIN_DIR, workDir, daemonEnv: DAEMON_ENV });
  const node = cluster.nodes[0]!;
  try {
    const options: CampaignOptions = {
      daemon: {
        node,
        start: () => cluster.startDaemon(node),
        kill: () => cluster.stopDaemon(node, 'SIGKILL'),
        status: () => cluster.status(node),
        logTail: (lines) => cluster.logTail(node, lines),
      },
      cloud: cluster.cloud.view(node.instanceId),
      binDir: BIN_DIR,
      vpcHostNetnsPath: cluster.fabric.vpcHost.netnsPath,
      prefix,
      rounds: 1,
      minKills: KILLS,
      seed: SEED,
      slots: SLOTS,
      faults: { plan: cluster.cloud.faults, actions: cluster.cloud.faultActions, choices: { roundRate: 0.4 } },
      log: (line) => console.log(`[${cloud.name}] ${line}`),
    };
    return { cloud, report: await runCrashCampaign(options) };
  } finally {
    await cluster.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

function row(run: CloudRun): string {
  const r = run.report;
  const damage = Object.entries(r.damage).map(([k, n]) => `${k} ${n}`).join(', ');
  const faults = Object.entries(r.faultsFired).map(([k, n]) => `${k} ${n}`).join(', ') || 'none fired';
  return `| ${run.cloud.cluster.nodeTitle} | ${r.rounds} | ${r.kills} | ${r.secondDaemons.refused} + ${r.secondDaemons.tookOver} | ${damage} | ${r.faultRounds}: ${faults} | ${r.adds} / ${r.addFailures} | ${r.dels} / ${r.delRetries} | ${r.pingsChecked} | ${r.violations.length} | ${Math.round(r.seconds / 60)} min |`;
}

async function main(): Promise<void> {
  const load = new MachineLoadSampler();
  load.start();
  const runs: CloudRun[] = [];
  for (const cloud of CLOUDS) runs.push(await runOn(cloud));
  const machine = load.stop();
  const table = [
    '| cloud | rounds | kill -9 | second daemons (refused + took over) | checkpoint damaged with live pods | rounds with cloud faults: faults fired | ADDs / failed (retried by a new sandbox) | DELs / retries | live pods pinged | violations | time |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...runs.map(row),
  ].join('\n');
  const violations = runs.flatMap((run) => run.report.violations.map((v) => `- ${run.cloud.name}: ${v}`));
  console.log(table);
  for (const v of violations) console.log(v);
  if (!WRITE) return;
  // One cloud per run lets clouds run side by side, each in its own section.
  const only = CLOUDS.length === 1 ? CLOUDS[0] : undefined;
  writeSection(
    only === undefined ? 'crash-campaign' : `crash-campaign-${only.name}`,
    [
      `## Crash campaign${only === undefined ? '' : ` (${cloudPlugin(only.name).title})`}`,
      '',
      `${machineLine()}. Build: ${buildRevision(BIN_DIR)}. Measured by \`bench/crash-campaign.ts\` (seed ${SEED}; the CI version is test/e2e/crash-campaign.test.ts): one emulated node per cloud, ${SLOTS} pod slots, rounds of 1–8 concurrent pod changes (ADD into an empty slot, DEL of a live pod) through the built \`nativeip-cni\` shim, driven as kubelet drives it (a fresh network namespace and container id per sandbox; a failed ADD is followed by a DEL of that sandbox, retried until it succeeds; a DEL is retried every 200 ms until it succeeds). Per round, at random: kill -9 of the daemon 0–400 ms into the storm and a successor 0–600 ms later (70 %); damage to the checkpoint while it is down (35 % of kills, the four kinds in turn); a second daemon beside the running one (15 %: refused at once, or waiting and taking over when the first is killed); cloud faults during the storm (40 %, for at most 10 s: on writes, lost replies 30 %, throttling 15 %, timeouts 10 %; 5xx on 20 % of calls, latency on 30 %; NotFound for 0.5–2.5 s after a create). After each round, with the faults cleared and the daemon settled, the checks: no address held twice (kubelet's pods, STATUS, the checkpoint file), every live pod's address recorded by the daemon (an allocation, or held from the kernel) and on the node in the cloud, no allocation or hold for a gone pod, no veth, route or rule of a gone pod in the node's namespace, every live pod answering a ping from the VPC, and the cloud agreeing with the daemon's pool for more than 20 s of the 30 s the checks wait: no ENI of the node detached or without DeleteOnTermination, no interface attached to the node that the pool does not know (or the reverse), as many addresses on each interface in the cloud as in the pool (an address no pod, pool entry or cooldown accounts for is a leak); the same at the end, with every pod removed. Daemon settings: IP_COOLDOWN_PERIOD=2, WARM_IP_TARGET=1 (the pool grows and shrinks with the pods, so the cloud is called often), NATIVEIP_RECONCILE_INTERVAL=10, NATIVEIP_ENI_GC_INTERVAL=5. While it ran: ${describeLoad(machine)}.`,
      '',
      table,
      '',
      violations.length === 0 ? 'No violation.' : `Violations, in full:\n\n${violations.join('\n')}`,
    ].join('\n'),
  );
}

await main();
