/**
 * The registry of emulated clouds for the `nativeip` command: the one place outside the clouds'
 * own folders that names them (with src/ipamd/clouds.ts for the daemon). README: "Adding a cloud".
 */
import { awsEmulatorPlugin } from './aws/plugin.js';
import { azureEmulatorPlugin } from './azure/plugin.js';
import type { EmulatorPlugin } from './emulator-plugin.js';

/** The first is the demo's default. */
export const EMULATOR_PLUGINS: readonly EmulatorPlugin[] = Object.freeze([awsEmulatorPlugin, azureEmulatorPlugin]);
