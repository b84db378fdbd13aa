/**
 * The daemon's footprint with many pods: one nativeip-ipamd on one emulated m5.16xlarge node
 * holding 250 pods (allocated through the `add` RPC, with the real datapath: a veth, routes and
 * rules per pod), then its resident memory and its CPU use while idle. Root only. Prints figures;
 * asserts nothing.
 * Run: npm run build && node scripts/run-ts.mjs bench/footprint.ts [pods] [idleSeconds] [flags]
 *   --no-write      print the table without rewriting BENCHMARKS.md (for trying a lever)
 *   --json          also print each measurement as one `FOOTPRINT_RESULT {…}` line (bench/node-runtime.ts reads it)
 *   --kubernetes    measure with the Kubernetes API connected too: a real kube-apiserver + etcd on
 *                   loopback (bench/lib/kube-node.ts), the Node (300 pods capacity) and the pods as
 *                   API objects bound to it, marked Running with their address as kubelet would;
 *                   runs without and with the API alternately and writes the section
 *                   `footprint-kubernetes` (min / median / max over the runs)
 *   --metrics       the cost of metrics: runs with metrics and introspection off
 *                   (DISABLE_METRICS, DISABLE_INTROSPECTION) and on, alternately; with them on,
 *                   /metrics is scraped 200 times back to back with the pods in (time, bytes), then
 *                   once a second through the idle window (a harsher scrape than Prometheus's 15–60 s);
 *                   writes the section `metrics`
 *   --runs=N        with --kubernetes or --metrics: measurements of each kind (default 3)
 */
import { join } from 'node:path';
import { buildRevision } from './lib/build-revision.js';
import { CAPACITY_PODS, NODE_NAME, measure, median, mib, type FootprintResult } from './lib/footprint-measure.js';
import { describeLoad } from './lib/machine-load.js';
import { REPO_ROOT, machineLine, writeSection } from './lib/report.js';

const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const PODS = Number(positional[0] ?? 250);
const IDLE_SECONDS = Number(positional[1] ?? 60);
const WRITE = !flags.includes('--no-write');
const JSON_LINES = flags.includes('--json');
const KUBERNETES = flags.includes('--kubernetes');
const METRICS = flags.includes('--metrics');
const SCRAPES = 200;
const RUNS = Number(flags.find((f) => f.startsWith('--runs='))?.slice('--runs='.length) ?? 3);
/** NATIVEIP_BENCH_BIN: a private copy of dist/bin, safe from a concurrent `npm run build`. */
const BIN_DIR = process.env['NATIVEIP_BENCH_BIN'] ?? join(REPO_ROOT, 'dist', 'bin');

function emit(result: FootprintResult): void {
  if (JSON_LINES) console.log(`FOOTPRINT_RESULT ${JSON.stringify(result)}`);
}

/** The original section: one measurement without the API. */
async function single(): Promise<void> {
  const r = await measure({ pods: PODS, idleSeconds: IDLE_SECONDS, binDir: BIN_DIR, kubernetes: false });
  emit(r);
  const idle = r.idleRssKiB;
  const table = [
    '| | value | target |',
    '|---|---|---|',
    `| resident memory (VmRSS), no pods, 2 s after start-up | ${mib(r.emptyRssKiB)} | |`,
    `| resident memory (VmRSS), ${PODS} pods, idle: median of one sample a second | ${mib(median(idle))} | ≤ 100 MiB |`,
    `| the same, lowest … highest sample | ${mib(idle[0] ?? Number.NaN)} … ${mib(idle.at(-1) ?? Number.NaN)} | |`,
    `| peak resident memory (VmHWM), allocating ${PODS} pods | ${mib(r.hwmKiB)} | |`,
    `| CPU while idle with ${PODS} pods, over ${r.idleSeconds.toFixed(0)} s | ${r.cpuPercent.toFixed(2)} % of one core | < 1 % |`,
  ].join('\n');
  console.log(table);
  console.log(`resident set at the end: ${mib(r.rssKindsKiB.anon)} anonymous, ${mib(r.rssKindsKiB.file)} file-backed, ${mib(r.rssKindsKiB.shmem)} shared memory`);
  console.log(`daemon ${r.daemonNode}; pool: ${r.poolTotal} addresses on ${r.interfaces} interfaces (${r.warmPolicy}); ${describeLoad(r.load)}`);
  if (!WRITE) return;
  writeSection(
    'footprint',
    [
      '## Daemon footprint',
      '',
      `${machineLine()}. Build: ${buildRevision(BIN_DIR)}. Measured by \`bench/footprint.ts\`: one \`nativeip-ipamd\` (Node ${r.daemonNode}) on an emulated \`m5.16xlarge\` node with the default warm pool (${r.warmPolicy === 'adaptive' ? 'the adaptive default, no knob set' : r.warmPolicy}), ${PODS} pods allocated through the \`add\` RPC with the real datapath (a veth pair, addresses, routes and rules per pod, each pod in its own network namespace), log level info. Memory from \`/proc/<pid>/status\`; CPU from utime + stime in \`/proc/<pid>/stat\` over ${r.idleSeconds.toFixed(0)} s without requests (the periodic reconcile with EC2 runs every 60 s ± 20 %). At the end the pool held ${r.poolTotal} addresses on ${r.interfaces} ENIs. While it ran: ${describeLoad(r.load)}.`,
      '',
      table,
      '',
      'Where the memory goes: about 54 MiB of the resident set is the `node` executable itself on Node 24 (44 MiB on Node 20; file-backed, shared with any other Node process of the same version); the rest is V8\'s heap and malloc (the Node 24 section below breaks it down). What brought it down from 186 MiB on Node 20 (each lever measured alone with this benchmark, 250 pods): loading only the chosen cloud\'s provider and SDK (the Azure SDKs were loaded on AWS too; cloud detection loads neither), 178 → 158 MiB; bundling the SDKs into the daemon from their ES modules, tree-shaken (`@aws-sdk/client-ec2` from 2.4 to 1.1 MB of code), native addons kept external, 158 → 137 MiB; `node --max-semi-space-size=1` in the `nativeip-ipamd` shim (a 1 MiB young generation instead of 16), 137 → 101 MiB. Then the link-deletion worker thread (its own V8 isolate) added ~8 MiB (100–111 MiB across runs); capping its heap (1 MiB young, 16 MiB old generation) and `MALLOC_ARENA_MAX=2` in the launcher (two glibc malloc arenas instead of one per thread) brought it to 94.5–98.5 MiB in three quiet runs (Node 20). Tried and not kept: `--v8-pool-size=1`, `--optimize-for-size` (no difference beyond run-to-run noise), `--lite-mode` (breaks undici, which needs WebAssembly). The resident set still swings by ~10–20 MiB with garbage collection (lowest … highest above). Node 24 against Node 20 and the Kubernetes API connected: the next two sections.',
    ].join('\n'),
  );
}

/** "min / median / max" of a figure over runs. */
function spread(values: readonly number[], format: (v: number) => string): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${format(sorted[0] ?? Number.NaN)} / ${format(median(sorted))} / ${format(sorted.at(-1) ?? Number.NaN)}`;
}

/** Without and with the API, alternately, RUNS times each. */
async function withKubernetes(): Promise<void> {
  const results: FootprintResult[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    for (const kubernetes of run % 2 === 0 ? [false, true] : [true, false]) {
      const r = await measure({ pods: PODS, idleSeconds: IDLE_SECONDS, binDir: BIN_DIR, kubernetes });
      emit(r);
      console.log(
        `run ${run + 1} ${kubernetes ? 'with the API' : 'without the API'}: idle RSS median ${mib(median(r.idleRssKiB))} (${mib(r.idleRssKiB[0] ?? Number.NaN)} … ${mib(r.idleRssKiB.at(-1) ?? Number.NaN)}), peak ${mib(r.hwmKiB)}, idle CPU ${r.cpuPercent.toFixed(2)} %, daemon ${r.daemonNode}; ${describeLoad(r.load)}`,
      );
      results.push(r);
    }
  }
  const off = results.filter((r) => !r.kubernetes);
  const on = results.filter((r) => r.kubernetes);
  const pct = (v: number) => `${v.toFixed(2)} %`;
  const range = (rs: readonly FootprintResult[]) => `${mib(Math.min(...rs.map((r) => r.idleRssKiB[0] ?? Number.NaN)))} … ${mib(Math.max(...rs.map((r) => r.idleRssKiB.at(-1) ?? Number.NaN)))}`;
  const table = [
    `| ${PODS} pods, idle | without the API | with the API | target |`,
    '|---|---|---|---|',
    `| runs | ${off.length} | ${on.length} | |`,
    `| resident memory (VmRSS), idle: median of one sample a second; min / median / max over the runs | ${spread(off.map((r) => median(r.idleRssKiB)), mib)} | ${spread(on.map((r) => median(r.idleRssKiB)), mib)} | ≤ 100 MiB |`,
    `| the same, lowest … highest sample of all runs | ${range(off)} | ${range(on)} | |`,
    `| peak resident memory (VmHWM), start-up and allocating ${PODS} pods; min / median / max | ${spread(off.map((r) => r.hwmKiB), mib)} | ${spread(on.map((r) => r.hwmKiB), mib)} | |`,
    `| resident memory, no pods, 2 s after start-up${KUBERNETES ? ' (with the API: once the Node was seen)' : ''}; min / median / max | ${spread(off.map((r) => r.emptyRssKiB), mib)} | ${spread(on.map((r) => r.emptyRssKiB), mib)} | |`,
    `| CPU while idle, over ${IDLE_SECONDS} s, % of one core; min / median / max | ${spread(off.map((r) => r.cpuPercent), pct)} | ${spread(on.map((r) => r.cpuPercent), pct)} | < 1 % |`,
  ].join('\n');
  const perRun = [
    '| run | API | idle RSS median | lowest … highest | anonymous + file-backed at the end | peak | idle CPU | machine while it ran |',
    '|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r, i) =>
        `| ${Math.floor(i / 2) + 1} | ${r.kubernetes ? 'connected' : 'off'} | ${mib(median(r.idleRssKiB))} | ${mib(r.idleRssKiB[0] ?? Number.NaN)} … ${mib(r.idleRssKiB.at(-1) ?? Number.NaN)} | ${mib(r.rssKindsKiB.anon)} + ${mib(r.rssKindsKiB.file)} | ${mib(r.hwmKiB)} | ${pct(r.cpuPercent)} | load ≤ ${r.load.loadMax.toFixed(1)}, CPU busy ${r.load.busyCoresMean.toFixed(2)} cores on average (≤ ${r.load.busyCoresMax.toFixed(2)}) |`,
    ),
  ].join('\n');
  console.log(table);
  console.log(perRun);
  if (!WRITE) return;
  const others = new Map<string, number>();
  for (const r of results) for (const o of r.load.others) others.set(o.command, (others.get(o.command) ?? 0) + o.cpuSeconds);
  const busiest = [...others].sort((a, b) => b[1] - a[1]).filter(([, s]) => s >= 1).slice(0, 6).map(([c, s]) => `${c} ${s.toFixed(0)} s`).join(', ');
  const first = results[0]!;
  writeSection(
    'footprint-kubernetes',
    [
      '## Daemon footprint with the Kubernetes API connected',
      '',
      `${machineLine()}. Build: ${buildRevision(BIN_DIR)}. Measured by \`bench/footprint.ts --kubernetes\`: the footprint benchmark above (one \`nativeip-ipamd\`, Node ${first.daemonNode}, on an emulated \`m5.16xlarge\`, ${PODS} pods through the \`add\` RPC with the real datapath, log level info, ${IDLE_SECONDS} s idle), run ${RUNS} times without and ${RUNS} times with the API, alternately, each run on a fresh node. With the API: a real kube-apiserver v1.35.4 + etcd 3.6.16 on loopback (no controller-manager, scheduler or kubelet), the manifests' CRD, RBAC and admission policy applied, the Node \`${NODE_NAME}\` with \`status.capacity.pods\` ${CAPACITY_PODS}, the DaemonSet's host-network pod on it, and the daemon run with \`NATIVEIP_KUBERNETES=on\`, \`MY_NODE_NAME=${NODE_NAME}\` and a kubeconfig holding a token of the \`nativeip\` ServiceAccount bound to that pod (so the admission policy applies). The ${PODS} pods are API objects bound to the Node (Deployment-like: labels, one container with ports, resources and a probe) created before their ADD, and each is marked Running with its address, conditions and container status after it (what kubelet writes), so the daemon's pod watch holds ${PODS + 1} pods as it would. The idle window starts once the NativeipNode status has been written and 5 s have passed, as without the API. Pool max pods with the API: ${on[0]?.maxPods ?? '?'} (the capacity less the host-network pod); without: ${off[0]?.maxPods ?? '?'} (the instance type's). While it ran (${RUNS * 2} runs): 1-minute load average at most ${Math.max(...results.map((r) => r.load.loadMax)).toFixed(1)}; CPU used by kernel threads (network namespace teardown and the like, much of it for these pods) ${results.reduce((t, r) => t + r.load.kernelCpuSeconds, 0).toFixed(0)} s, by other engineers' work ${busiest === '' ? 'nothing worth naming' : busiest}. Worst cases are in the per-run table.`,
      '',
      table,
      '',
      perRun,
    ].join('\n'),
    { after: 'node-runtime' },
  );
}

/** Metrics off and on, alternately, RUNS times each. */
async function withMetrics(): Promise<void> {
  const results: FootprintResult[] = [];
  const off = { DISABLE_METRICS: 'true', DISABLE_INTROSPECTION: 'true' };
  for (let run = 0; run < RUNS; run += 1) {
    for (const metrics of run % 2 === 0 ? [false, true] : [true, false]) {
      const r = await measure({ pods: PODS, idleSeconds: IDLE_SECONDS, binDir: BIN_DIR, kubernetes: false, ...(metrics ? { scrapes: SCRAPES } : { env: off }) });
      emit(r);
      results.push(r);
      console.log(`run ${run + 1}, metrics ${metrics ? 'on' : 'off'}: idle RSS median ${mib(median(r.idleRssKiB))}, highest ${mib(r.idleRssKiB.at(-1) ?? Number.NaN)}, peak ${mib(r.hwmKiB)}${r.scrape === undefined ? '' : `, scrape p50 ${r.scrape.ms[Math.floor(r.scrape.ms.length / 2)]!.toFixed(1)} ms, max ${r.scrape.ms.at(-1)!.toFixed(1)} ms, ${r.scrape.bytes} bytes`}`);
    }
  }
  const without = results.filter((r) => r.scrape === undefined);
  const withMetricsOn = results.filter((r) => r.scrape !== undefined);
  const scrapes = withMetricsOn.flatMap((r) => r.scrape!.ms).sort((a, b) => a - b);
  const at = (q: number) => scrapes[Math.min(scrapes.length - 1, Math.floor(q * scrapes.length))] ?? Number.NaN;
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const pct = (v: number) => `${v.toFixed(2)} %`;
  const table = [
    `| ${PODS} pods, idle | metrics and introspection off | on, scraped once a second | target |`,
    '|---|---|---|---|',
    `| resident memory (VmRSS), median of one sample a second; min / median / max over runs | ${spread(without.map((r) => median(r.idleRssKiB)), mib)} | ${spread(withMetricsOn.map((r) => median(r.idleRssKiB)), mib)} | ≤ 100 MiB |`,
    `| highest sample; min / median / max | ${spread(without.map((r) => r.idleRssKiB.at(-1) ?? Number.NaN), mib)} | ${spread(withMetricsOn.map((r) => r.idleRssKiB.at(-1) ?? Number.NaN), mib)} | |`,
    `| peak resident memory (VmHWM); min / median / max | ${spread(without.map((r) => r.hwmKiB), mib)} | ${spread(withMetricsOn.map((r) => r.hwmKiB), mib)} | |`,
    `| CPU while idle over ${IDLE_SECONDS} s, % of one core; min / median / max | ${spread(without.map((r) => r.cpuPercent), pct)} | ${spread(withMetricsOn.map((r) => r.cpuPercent), pct)} | < 1 % |`,
  ].join('\n');
  const first = withMetricsOn[0]!;
  const scrapeLine = `One scrape of \`/metrics\` with ${PODS} pods (${withMetricsOn.length} runs × ${SCRAPES} back to back, HTTP GET on loopback to the last byte): p50 ${ms(at(0.5))}, p99 ${ms(at(0.99))}, max ${ms(scrapes.at(-1) ?? Number.NaN)}; ${Math.max(...withMetricsOn.map((r) => r.scrape!.bytes)).toLocaleString('en')} bytes, ${first.scrape!.samples.toLocaleString('en')} samples (the pool held ${first.poolTotal} addresses on ${first.interfaces} interfaces; the per-interface series grow with interfaces, not pods).`;
  console.log(table);
  console.log(scrapeLine);
  if (!WRITE) return;
  writeSection(
    'metrics',
    [
      '## Metrics',
      '',
      `${machineLine()}. Build: ${buildRevision(BIN_DIR)}. Measured by \`bench/footprint.ts --metrics\`: the footprint benchmark (one \`nativeip-ipamd\`, Node ${first.daemonNode}, on an emulated \`m5.16xlarge\`, ${PODS} pods through the \`add\` RPC with the real datapath, log level info, ${IDLE_SECONDS} s idle, no Kubernetes API), run ${RUNS} times with metrics and introspection off and ${RUNS} times on (the default), alternately, each on a fresh node. With them on, \`/metrics\` is scraped ${SCRAPES} times back to back once the pods are in, then once a second through the idle window. While it ran: 1-minute load average at most ${Math.max(...results.map((r) => r.load.loadMax)).toFixed(1)}.`,
      '',
      scrapeLine,
      '',
      table,
    ].join('\n'),
    { after: 'footprint-kubernetes' },
  );
}

if (process.getuid?.() !== 0) throw new Error('bench/footprint needs root (network namespaces)');
if (KUBERNETES) await withKubernetes();
else if (METRICS) await withMetrics();
else await single();
