/**
 * The registry of clouds the daemon can run in: the one place outside the clouds' own folders
 * that names them. Adding a cloud is writing `src/providers/<cloud>` (with its plugin.ts) and
 * `src/emulator/<cloud>`, and adding its plugin here (README: "Adding a cloud").
 */
import type { CloudPlugin } from '../core/cloud-plugin.js';
import { awsPlugin } from '../providers/aws/plugin.js';
import { azurePlugin } from '../providers/azure/plugin.js';

export const CLOUD_PLUGINS: readonly CloudPlugin[] = Object.freeze([awsPlugin as CloudPlugin, azurePlugin as CloudPlugin]);

/** The plugin of `name`; throws when no cloud has that name. */
export function cloudPlugin(name: string): CloudPlugin {
  const plugin = CLOUD_PLUGINS.find((p) => p.name === name);
  if (plugin === undefined) throw new Error(`no cloud named ${name} (known: ${CLOUD_PLUGINS.map((p) => p.name).join(', ')})`);
  return plugin;
}
