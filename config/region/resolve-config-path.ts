import { fileURLToPath } from 'node:url';

/** The shipped default: the Midi-Pyrénées region, resolved from this module so any working directory works. */
export const DEFAULT_REGION_CONFIG_PATH = fileURLToPath(new URL('../examples/midi-pyrenees.yaml', import.meta.url));
