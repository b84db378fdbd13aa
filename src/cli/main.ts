/**
 * `nativeip`: the operator's window into the daemon and the local emulated cloud.
 *   nativeip status | interfaces | pods [--socket PATH] [--json]
 *   nativeip max-pods --instance-type TYPE [--prefix-delegation] …
 *   nativeip emulator <cloud> [--listen HOST:PORT] …
 *   nativeip demo [--cloud <cloud>] [--keep]
 *   nativeip install-cni [--from PATH] [--bin-dir DIR]
 *   nativeip trace record --out FILE [--duration D] [--kubeconfig PATH] [--nodes N1,N2 | --node-selector SEL]
 *   nativeip tune --trace FILE --instance-type TYPE [--cloud NAME] [--chart FILE.svg] [--json]
 *   nativeip support-bundle [--out FILE.tar.gz] …
 * The clouds come from the emulator registry (src/emulator/clouds.ts).
 */
import { callDaemon } from '../rpc/client.js';
import { RpcCallError } from '../rpc/errors.js';
import { DEFAULT_SOCKET_PATH } from '../rpc/protocol.js';
import { parseFlags, type FlagSpec, type ParsedFlags } from '../core/cli-flags.js';
import { EMULATOR_PLUGINS } from '../emulator/clouds.js';
import type { EmulatorPlugin } from '../emulator/emulator-plugin.js';
import { renderInterfaces, renderPods, renderStatus } from './daemon-views.js';

const CLOUD_NAMES = EMULATOR_PLUGINS.map((p) => p.name).join('|');
const DEMO_SCENES = EMULATOR_PLUGINS.map((p) => p.demoScene).join(' or ');

const USAGE = `usage:
  nativeip status [--socket PATH] [--json]     the daemon's state and pool
  nativeip interfaces [--socket PATH] [--json] interfaces the pool uses
  nativeip pods [--socket PATH] [--json]       pods and their addresses
  nativeip max-pods --instance-type T [--prefix-delegation] [--cni-version V] …
                                               kubelet --max-pods for a node
${EMULATOR_PLUGINS.map((p) => `  nativeip emulator ${p.name} ${p.usage}\n`).join('')}  nativeip demo [--cloud ${CLOUD_NAMES}] [--keep]   (root) the whole path on ${DEMO_SCENES}
  nativeip install-cni [--from PATH] [--bin-dir DIR]
                                               copy the CNI plugin onto the host (the DaemonSet's init step)
  nativeip trace record --out FILE [--duration 2h] [--kubeconfig PATH] [--nodes N1,N2 | --node-selector SEL]
                                               record the cluster's pod churn as a JSONL trace
  nativeip tune --trace FILE --instance-type T [--cloud NAME] [--chart FILE.svg] [--json]
                                               replay a trace against warm-pool policies; recommend one
  nativeip support-bundle [--out FILE.tar.gz] [--socket PATH] …
                                               (root, on the node) status, introspection, metrics, checkpoint,
                                               log and kernel state in one archive for a ticket
`;

/** A mistake in the command line; `usage` is what to print after it (a command's own, or the whole). */
class UsageError extends Error {
  readonly usage: string;

  constructor(message: string, usage: string = USAGE) {
    super(message);
    this.usage = usage;
  }
}

function emulatorPlugin(name: string | undefined, command: string): EmulatorPlugin {
  const plugin = EMULATOR_PLUGINS.find((p) => p.name === name);
  if (plugin === undefined) throw new UsageError(`${command}: unknown cloud ${JSON.stringify(name ?? '')} (known: ${CLOUD_NAMES.replaceAll('|', ', ')})`);
  return plugin;
}

/** The flags of a command whose usage is in the whole USAGE; a mistake is a UsageError naming the command and the flag. */
function commandFlags(command: string, args: readonly string[], spec: FlagSpec): ParsedFlags {
  return parseFlags(args, spec, (problem) => new UsageError(`${command}: ${problem.message}`));
}

async function daemonView(command: string, args: readonly string[], render: (s: Awaited<ReturnType<typeof fetchStatus>>) => string): Promise<void> {
  const flags = commandFlags(command, args, { values: ['--socket'], switches: ['--json'] });
  const socket = flags.one('--socket') ?? process.env['NATIVEIP_SOCKET'] ?? DEFAULT_SOCKET_PATH;
  const status = await fetchStatus(socket);
  process.stdout.write(`${flags.has('--json') ? JSON.stringify(status, null, 2) : render(status)}\n`);
}

function fetchStatus(socket: string) {
  return callDaemon(socket, 'status', {}, { timeoutMs: 5_000 });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'status':
      await daemonView(command, args, renderStatus);
      return 0;
    case 'interfaces':
      await daemonView(command, args, renderInterfaces);
      return 0;
    case 'pods':
      await daemonView(command, args, renderPods);
      return 0;
    case 'max-pods': {
      const { MaxPodsUsageError, MAX_PODS_USAGE, maxPodsNote, parseMaxPodsArgs, renderMaxPods } = await import('./max-pods.js');
      try {
        const request = parseMaxPodsArgs(args);
        const note = maxPodsNote(request);
        if (note !== undefined && !request.json) process.stderr.write(`nativeip: max-pods: ${note}\n`);
        process.stdout.write(`${renderMaxPods(request)}\n`);
      } catch (error) {
        if (error instanceof MaxPodsUsageError) throw new UsageError(`max-pods: ${error.message}`, `${MAX_PODS_USAGE}\n`);
        throw error;
      }
      return 0;
    }
    case 'emulator': {
      const [cloud, ...rest] = args;
      await emulatorPlugin(cloud, 'emulator').runCli(rest);
      return 0;
    }
    case 'demo': {
      const flags = commandFlags(command, args, { values: ['--cloud'], switches: ['--keep'] });
      return emulatorPlugin(flags.one('--cloud') ?? EMULATOR_PLUGINS[0]!.name, 'demo').runDemo(flags.has('--keep') ? ['--keep'] : []);
    }
    case 'install-cni': {
      const { InstallCniUsageError, INSTALL_CNI_USAGE, installCni, parseInstallCniArgs, renderInstallOutcome } = await import('./install-cni.js');
      let options;
      try {
        options = parseInstallCniArgs(args);
      } catch (error) {
        if (error instanceof InstallCniUsageError) throw new UsageError(`install-cni: ${error.message}`, `${INSTALL_CNI_USAGE}\n`);
        throw error;
      }
      process.stdout.write(`${renderInstallOutcome(await installCni(options))}\n`);
      if (options.rpFilterLoose === true) {
        const { loosenRpFilter, renderRpFilterOutcome } = await import('./rp-filter.js');
        process.stdout.write(`${renderRpFilterOutcome(await loosenRpFilter())}\n`);
      }
      return 0;
    }
    case 'tune': {
      const { TuneUsageError, TUNE_USAGE, runTune } = await import('./tune.js');
      try {
        await runTune(args);
      } catch (error) {
        if (error instanceof TuneUsageError) throw new UsageError(`tune: ${error.message}`, `${TUNE_USAGE}\n`);
        throw error;
      }
      return 0;
    }
    case 'trace': {
      const { TraceRecordUsageError, TRACE_RECORD_USAGE } = await import('./trace-record.js');
      try {
        return await (await import('./trace-record-run.js')).runTraceCommand(args);
      } catch (error) {
        if (error instanceof TraceRecordUsageError) throw new UsageError(`trace: ${error.message}`, `${TRACE_RECORD_USAGE}\n`);
        throw error;
      }
    }
    case 'support-bundle': {
      const { SupportBundleUsageError, SUPPORT_BUNDLE_USAGE, parseSupportBundleArgs, writeSupportBundle } = await import('./support-bundle.js');
      let options;
      try {
        options = parseSupportBundleArgs(args, process.env);
      } catch (error) {
        if (error instanceof SupportBundleUsageError) throw new UsageError(`support-bundle: ${error.message}`, `${SUPPORT_BUNDLE_USAGE}\n`);
        throw error;
      }
      const { files, errors } = await writeSupportBundle(options);
      process.stdout.write(`wrote ${options.out}: ${files.length} files${errors.length === 0 ? '' : `; not included (see errors.txt):\n${errors.map((e) => `  ${e}`).join('\n')}`}\n`);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`nativeip: ${error.message}\n${error.usage}`);
      process.exit(2);
    }
    if (error instanceof RpcCallError) {
      process.stderr.write(`nativeip: ${error.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`nativeip: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
