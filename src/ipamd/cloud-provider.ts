/**
 * Which cloud the node is in, and its provider, through the registry (clouds.ts): the daemon
 * names no cloud. The environment is passed in (only main.ts reads process.env).
 */
import type { Logger } from 'pino';
import type { CloudApiObserver, CloudPlugin } from '../core/cloud-plugin.js';
import type { Env } from '../core/config/config-variable.js';
import type { CloudProvider } from '../core/types.js';
import { detectCloud } from './config/cloud-detect.js';
import { CLOUD_PLUGINS, cloudPlugin } from './clouds.js';
import type { DaemonConfig } from './config/config.js';

/** The settings `config` holds for `plugin` (its variables, read with the daemon's). */
export function settingsOf(config: DaemonConfig, plugin: CloudPlugin): unknown {
  return config.cloudSettings[plugin.name];
}

/** The cloud NATIVEIP_CLOUD names, or, for `auto`, the one whose metadata service answers; throws CloudDetectionError. */
export async function chooseCloudPlugin(config: DaemonConfig): Promise<CloudPlugin> {
  if (config.cloud !== 'auto') return cloudPlugin(config.cloud);
  return cloudPlugin(await detectCloud(CLOUD_PLUGINS, (plugin) => settingsOf(config, plugin)));
}

export function createCloudProvider(plugin: CloudPlugin, config: DaemonConfig, env: Env, logger: Logger, apiObserver?: CloudApiObserver): Promise<CloudProvider> {
  return plugin.createProvider(settingsOf(config, plugin), { env, logger, maxInterfaces: config.maxEni, ...(apiObserver === undefined ? {} : { apiObserver }) });
}
