/**
 * What every `astreinte` command shares: where it writes, how it reads its options, and how it answers a
 * wrong command line (the problem, then the usage, exit 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export const EXIT_USAGE = 2;

/** A wrong command line; the command answers it with its usage and exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ParsedCommandLine<O extends ParseArgsOptionsConfig> {
  values: { [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : O[K] extends { multiple: true } ? string[] : string };
  positionals: string[];
}

/** The options of a command, read strictly (an unknown option is a UsageError naming it). */
export function parseCommandLine<O extends ParseArgsOptionsConfig>(
  argv: string[],
  options: O,
  allowPositionals = false,
): ParsedCommandLine<O> {
  try {
    const parsed = parseArgs({ args: argv, options, strict: true, allowPositionals });
    return { values: parsed.values as ParsedCommandLine<O>['values'], positionals: parsed.positionals };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** `astreinte <command>: <message>`, a blank line and the usage on stderr; returns the exit code 2. */
export function reportUsageError(io: Io, command: string, usage: string, message: string): number {
  io.stderr.write(`astreinte ${command}: ${message}\n\n${usage}`);
  return EXIT_USAGE;
}
