/**
 * The one error for configuration a person must fix (environment, region file, database address). The CLI and
 * the server report it the same way: its message, which says what to fix, without a stack. `problems` lists
 * each thing to fix (text, or richer records such as a region file's positions).
 */
export class ConfigurationError<Problem = string> extends Error {
  constructor(
    readonly problems: Problem[],
    message = `Astreinte cannot start, fix the configuration:\n${problems.map((p) => `  - ${String(p)}`).join('\n')}`,
  ) {
    super(message);
    this.name = 'ConfigurationError';
  }
}
