import { ConfigurationError } from '../../core/configuration-error.ts';

export interface RegionConfigProblem {
  line: number;
  column: number;
  /** What is wrong and what to write instead; starts with the field, e.g. sites[2].finess: ... */
  message: string;
}

/** The region file cannot be used. `problems` is never empty; the message lists them as file:line:column: message. */
export class RegionConfigError extends ConfigurationError<RegionConfigProblem> {
  constructor(
    readonly file: string,
    problems: RegionConfigProblem[],
  ) {
    super(
      problems,
      `The region configuration ${file} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => formatProblem(file, p)).join('\n'),
    );
    this.name = 'RegionConfigError';
  }
}

export function formatProblem(file: string, p: RegionConfigProblem): string {
  return `${file}:${p.line}:${p.column}: ${p.message}`;
}
