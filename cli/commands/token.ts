/**
 * `astreinte token --role <role> [--site <FINESS>] [--user <id>] [--ttl <duration>]`: prints a token
 * signed by the embedded key on stdout followed by a newline, and nothing else, so that
 * `TOKEN=$(astreinte token --role sender --site <FINESS>)` works. Errors go to stderr. Exit codes: 0 printed, 1 refused
 * (configuration, OIDC in use, key file), 2 wrong arguments.
 */
import { loadSettings } from '../../config/settings.ts';
import { HttpProblem } from '../../gateway/http/problem.ts';
import {
  DEFAULT_TOKEN_TTL_SECONDS,
  issueToken,
  loadOrCreateSigningKey,
  MAX_TOKEN_TTL_SECONDS,
} from '../../gateway/auth/embedded-signing-key.ts';
import { isRole, ROLES } from '../../core/identity/roles.ts';
import { parseCommandLine, reportUsageError, UsageError, type Io } from '../command-line.ts';

export const TOKEN_USAGE = `Usage: astreinte token --role <role> [--site <FINESS>] [--user <id>] [--rpps <RPPS>] [--territory <id>] [--ttl <duration>]

Prints a bearer token signed by this installation's embedded key, and nothing else.
  --role   ${ROLES.join(', ')}
  --site   FINESS number of the establishment (9 characters), required for --role sender
  --user   subject of the token (default <role>-cli)
  --rpps   RPPS number of a practitioner (11 digits), required for --role reader and expert: they are found in the region by it
  --territory  territory of a coordinator (required for --role coordinator)
  --ttl    lifetime: seconds, or a number followed by m, h or d (default ${DEFAULT_TOKEN_TTL_SECONDS / 3600}h, at most ${MAX_TOKEN_TTL_SECONDS / 86400}d)
`;

export async function runTokenCommand(argv: string[], env: NodeJS.ProcessEnv, io: Io = process): Promise<number> {
  let values;
  try {
    ({ values } = parseCommandLine(argv, {
      role: { type: 'string' },
      site: { type: 'string' },
      user: { type: 'string' },
      rpps: { type: 'string' },
      territory: { type: 'string' },
      ttl: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    }));
  } catch (error) {
    if (error instanceof UsageError) return usageError(io, error.message);
    throw error;
  }
  if (values.help) {
    io.stdout.write(TOKEN_USAGE);
    return 0;
  }
  if (values.role === undefined) return usageError(io, 'missing --role');
  if (!isRole(values.role)) return usageError(io, `unknown role ${JSON.stringify(values.role)}: use one of ${ROLES.join(', ')}`);
  const ttlSeconds = values.ttl === undefined ? undefined : parseDuration(values.ttl);
  if (ttlSeconds === null) return usageError(io, `--ttl ${JSON.stringify(values.ttl)} is not a duration (e.g. 3600, 30m, 12h, 30d)`);

  try {
    const settings = loadSettings(env);
    if (settings.auth.kind === 'oidc') {
      io.stderr.write(
        `astreinte token: this installation trusts tokens from the identity provider ${settings.auth.issuer}, ` +
          'so it does not issue its own; get a token from that provider (or unset OIDC_ISSUER, OIDC_JWKS_URL ' +
          'and OIDC_AUDIENCE to use the embedded key).\n',
      );
      return 1;
    }
    const key = await loadOrCreateSigningKey(settings.auth.keyDir);
    const token = await issueToken(key, {
      role: values.role,
      site: values.site,
      user: values.user,
      rpps: values.rpps,
      territory: values.territory,
      ttlSeconds,
      audience: settings.auth.audience,
    });
    io.stdout.write(`${token}\n`);
    return 0;
  } catch (error) {
    if (error instanceof HttpProblem) return usageError(io, error.message);
    io.stderr.write(`astreinte token: ${(error as Error).message}\n`);
    return 1;
  }
}

function usageError(io: Io, message: string): number {
  return reportUsageError(io, 'token', TOKEN_USAGE, message);
}

/** `3600`, `90s`, `30m`, `12h`, `30d` to seconds; null when not a duration. */
export function parseDuration(text: string): number | null {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  if (!match) return null;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
