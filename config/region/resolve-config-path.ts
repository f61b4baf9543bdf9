import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shipped default: the Midi-Pyrénées region, resolved from this module so any working directory works. */
export const DEFAULT_REGION_CONFIG_PATH = fileURLToPath(new URL('../examples/midi-pyrenees.yaml', import.meta.url));

/** ASTREINTE_CONFIG (relative paths from the working directory) or the shipped default. */
export function resolveRegionConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.ASTREINTE_CONFIG?.trim();
  return configured ? path.resolve(configured) : DEFAULT_REGION_CONFIG_PATH;
}
