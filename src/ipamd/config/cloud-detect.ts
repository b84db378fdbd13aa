/**
 * `NATIVEIP_CLOUD=auto`: which cloud the node runs in, from which metadata service answers. Every
 * registered cloud is asked at once, each with a short timeout (see CloudPlugin.probe).
 */
import type { CloudPlugin, ProbeResult } from '../../core/cloud-plugin.js';

export class CloudDetectionError extends Error {
  override readonly name = 'CloudDetectionError';
}

/** One cloud's probe, by the cloud's name. */
export interface NamedProbe {
  readonly name: string;
  readonly title: string;
  readonly result: ProbeResult;
}

/** The one cloud whose probe succeeded; throws CloudDetectionError when none or several did. Pure. */
export function chooseCloud(probes: readonly NamedProbe[]): string {
  const names = probes.map((p) => p.name).join(', ');
  const answered = probes.filter((p) => p.result.ok);
  if (answered.length === 1) return answered[0]!.name;
  if (answered.length > 1) {
    throw new CloudDetectionError(`${answered.length === 2 ? 'both' : 'all'} of the metadata services of ${answered.map((p) => p.title).join(' and ')} answered; set NATIVEIP_CLOUD to one of ${names}`);
  }
  const why = probes.map((p) => `${p.title}: ${p.result.ok ? '' : p.result.why}`).join('; ');
  throw new CloudDetectionError(`no cloud metadata service answered (${why}); set NATIVEIP_CLOUD to one of ${names}`);
}

/** Probes every plugin at once with its own settings and returns the cloud; throws CloudDetectionError. */
export async function detectCloud(plugins: readonly CloudPlugin[], settingsOf: (plugin: CloudPlugin) => unknown, timeoutMs = 1000): Promise<string> {
  const probes = await Promise.all(
    plugins.map(async (plugin): Promise<NamedProbe> => ({ name: plugin.name, title: plugin.title, result: await plugin.probe(settingsOf(plugin), timeoutMs) })),
  );
  return chooseCloud(probes);
}
