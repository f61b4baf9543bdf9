import path from 'node:path';
import { z } from 'zod';
import { ConfigurationError } from '../core/configuration-error.ts';
import { CLAIMS_MAPPING_VARIABLES, parseClaimsMapping, type ClaimsMapping } from '../core/identity/claims-mapping.ts';
import { CLOCK_START_HINT, parseClockStart } from '../core/time/clock.ts';
import { DEFAULT_REGION_CONFIG_PATH } from './region/resolve-config-path.ts';

/**
 * Every environment variable of Astreinte, in one schema, read and validated once at start (`loadSettings`); no
 * other module reads the environment. A bad value stops start-up with a message naming the variable and what
 * to put there.
 */
const port = z.coerce.number().int().min(1).max(65535);
const optionalUrl = (what: string) =>
  z
    .string()
    .url({ message: `must be a full URL (${what})` })
    .optional();

/** Seconds with decimals between `min` and `max`, as milliseconds. */
const seconds = (min: number, max: number, fallback: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((text, ctx) => {
      if (!text) return fallback * 1000;
      const value = Number(text);
      if (!Number.isFinite(value) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message: `must be a number of seconds between ${min} and ${max} (decimals allowed)` });
        return z.NEVER;
      }
      return Math.round(value * 1000);
    });
const wholeNumber = (min: number, max: number, fallback: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((text, ctx) => {
      if (!text) return fallback;
      const value = Number(text);
      if (!Number.isInteger(value) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number between ${min} and ${max}` });
        return z.NEVER;
      }
      return value;
    });
const trueOrFalse = (fallback: boolean) =>
  z
    .string()
    .trim()
    .optional()
    .transform((text, ctx) => {
      if (!text) return fallback;
      const lower = text.toLowerCase();
      if (lower !== 'true' && lower !== 'false') {
        ctx.addIssue({ code: 'custom', message: 'must be true or false' });
        return z.NEVER;
      }
      return lower === 'true';
    });

/** Where the audit chain's head goes, outside the database. */
export type AuditHeadSink =
  | { kind: 'file'; path: string }
  | { kind: 'syslog'; transport: 'udp' | 'tcp'; host: string; port: number }
  | { kind: 'http'; url: string }
  | { kind: 'off' };

function parseAuditHeadSink(text: string): AuditHeadSink | undefined {
  if (text === 'off') return { kind: 'off' };
  const syslog = /^syslog\+(udp|tcp):\/\/(\[[0-9a-fA-F:]+\]|[^:/\s]+):(\d{1,5})\/?$/.exec(text);
  if (syslog) {
    const port = Number(syslog[3]);
    if (port < 1 || port > 65535) return undefined;
    return { kind: 'syslog', transport: syslog[1] as 'udp' | 'tcp', host: syslog[2]!.replace(/^\[|\]$/g, ''), port };
  }
  if (/^https?:\/\//.test(text)) return URL.canParse(text) ? { kind: 'http', url: text } : undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return undefined;
  return { kind: 'file', path: path.resolve(text) };
}

/** What the web app asks the provider for when OIDC_SCOPES is unset. */
export const DEFAULT_OIDC_SCOPES: readonly string[] = Object.freeze(['openid']);

const settingsSchema = z
  .object({
    PORT: port.default(8080),
    HOST: z.string().min(1).default('0.0.0.0'),
    ASTREINTE_DATA_DIR: z.string().min(1).default('./var'),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, { message: 'must start with postgres:// or postgresql://' })
      .optional(),
    DATABASE_OWNER_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, { message: 'must start with postgres:// or postgresql:// (the role that owns the schema and runs migrations)' })
      .optional(),
    EMBEDDED_PG_PORT: port.default(54329),
    S3_ENDPOINT: optionalUrl('for example http://127.0.0.1:9000'),
    S3_BUCKET: z.string().min(3).max(63).optional(),
    S3_ACCESS_KEY: z.string().min(1).optional(),
    S3_SECRET_KEY: z.string().min(1).optional(),
    S3_REGION: z.string().min(1).default('us-east-1'),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, { message: 'must start with redis:// or rediss://' })
      .optional(),
    ASTREINTE_PUBLIC_URL: optionalUrl('the URL clients use to reach this gateway, e.g. https://pacs.example.fr'),
    TRUST_PROXY: z.enum(['true', 'false']).default('false'),
    OIDC_ISSUER: optionalUrl('the OpenID Connect issuer'),
    OIDC_JWKS_URL: optionalUrl("the issuer's JWKS endpoint"),
    OIDC_AUDIENCE: z.string().min(1).optional(),
    OIDC_CLIENT_ID: z
      .string()
      .regex(/^[\x21-\x7e]{1,200}$/, { message: "must be the web app's client id at the provider: 1 to 200 printable characters, no spaces" })
      .optional(),
    OIDC_SCOPES: z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (text === undefined || text.trim() === '') return undefined;
        const scopes = [...new Set(text.trim().split(/\s+/))];
        // RFC 6749 3.3: scope tokens are printable ASCII without space, double quote or backslash.
        const bad = scopes.find((scope) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope));
        if (bad !== undefined) {
          ctx.addIssue({ code: 'custom', message: `${JSON.stringify(bad)} is not a scope name; write scopes separated by spaces, e.g. "openid scope_all"` });
          return z.NEVER;
        }
        if (!scopes.includes('openid')) {
          ctx.addIssue({ code: 'custom', message: 'must include openid (the sign-in is OpenID Connect), e.g. "openid scope_all"' });
          return z.NEVER;
        }
        return scopes;
      }),
    TOKEN_AUDIENCE: z.string().min(1).default('astreinte'),
    CORS_ORIGINS: z.string().min(1).default('*'),
    STOW_MAX_REQUEST_BYTES: z.coerce.number().int().positive().default(8 * 1024 ** 3),
    STOW_MAX_PARTS: z.coerce.number().int().positive().default(10_000),
    ASTREINTE_ADMIN_PATIENT_ACCESS: z.enum(['true', 'false']).default('false'),
    ASTREINTE_POOL_ACCESS_AFTER_COMPLETION_HOURS: wholeNumber(0, 8760, 0),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    RATE_LIMIT_RPS: z.coerce
      .number({ message: 'must be a number of requests per second (0 disables the limit)' })
      .min(0, { message: 'must be 0 (no limit) or a positive number of requests per second' })
      .max(1_000_000)
      .default(200),
    RATE_LIMIT_BURST: z.coerce
      .number({ message: 'must be a whole number of requests' })
      .int({ message: 'must be a whole number of requests' })
      .min(1, { message: 'must be at least 1 (set RATE_LIMIT_RPS=0 to disable the limit)' })
      .max(10_000_000)
      .default(1000),
    OIDC_CLAIM_USER: z.string().optional(),
    OIDC_CLAIM_ROLES: z.string().optional(),
    OIDC_CLAIM_RPPS: z.string().optional(),
    OIDC_CLAIM_SITE: z.string().optional(),
    OIDC_CLAIM_TERRITORY: z.string().optional(),
    OIDC_ROLE_MAP: z.string().optional(),
    OIDC_ROLE_PRECEDENCE: z.string().optional(),
    ASTREINTE_CONFIG: z.string().optional(),
    ASTREINTE_NOW: z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (!text?.trim()) return undefined;
        const start = parseClockStart(text);
        if (!start) ctx.addIssue({ code: 'custom', message: CLOCK_START_HINT });
        return start;
      }),
    ASTREINTE_ROUTING_CONSUME: trueOrFalse(true),
    ASTREINTE_STABILITY_SECONDS: seconds(0, 3600, 10),
    ASTREINTE_ROUTING_SWEEP_SECONDS: seconds(0, 3600, 30),
    ASTREINTE_ROUTING_CONCURRENCY: wholeNumber(1, 64, 8),
    ASTREINTE_AUDIT_SITE: z.string().trim().min(1).optional(),
    ASTREINTE_AUDIT_HEAD_EXPORT: z
      .string()
      .trim()
      .optional()
      .transform((text, ctx) => {
        if (!text) return undefined;
        const sink = parseAuditHeadSink(text);
        if (!sink) {
          ctx.addIssue({
            code: 'custom',
            message: 'write a file path, syslog+udp://host:port, syslog+tcp://host:port, an http(s):// URL, or off',
          });
          return z.NEVER;
        }
        return sink;
      }),
    ASTREINTE_AUDIT_HEAD_EXPORT_SECONDS: seconds(1, 86_400, 60),
    // DICOM network (DIMSE): C-ECHO and C-STORE SCP; DIMSE_PORT=0 disables it.
    DIMSE_PORT: z.coerce.number().int().min(0).max(65535).default(11112),
    DIMSE_HOST: z.string().min(1).optional(),
    DIMSE_AE_TITLE: z
      .string()
      .regex(/^[\x20-\x5b\x5d-\x7e]{1,16}$/, { message: 'must be 1 to 16 printable ASCII characters without backslash, e.g. ASTREINTE' })
      .default('ASTREINTE'),
    DIMSE_MAX_ASSOCIATIONS: wholeNumber(1, 10_000, 64),
    DIMSE_TLS_CERT: z.string().min(1).optional(),
    DIMSE_TLS_KEY: z.string().min(1).optional(),
    DIMSE_TLS_CA: z.string().min(1).optional(),
    ASTREINTE_DELIVERY_ATTEMPTS: wholeNumber(1, 100, 8),
    ASTREINTE_DELIVERY_BACKOFF_SECONDS: seconds(0.01, 3600, 30),
  })
  .superRefine((s, ctx) => {
    if (s.DATABASE_OWNER_URL !== undefined && s.DATABASE_URL === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_OWNER_URL'],
        message: 'only applies to an external server: set DATABASE_URL too (the application role), or unset DATABASE_OWNER_URL (the embedded server creates both roles itself)',
      });
    }
    const s3 = ['S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY', 'S3_SECRET_KEY'] as const;
    const given = s3.filter((k) => s[k] !== undefined);
    if (given.length > 0 && given.length < s3.length) {
      const missing = s3.filter((k) => s[k] === undefined);
      ctx.addIssue({
        code: 'custom',
        path: [missing[0]],
        message: `S3 storage needs all of ${s3.join(', ')}; missing ${missing.join(', ')} (or unset them all to use the filesystem store)`,
      });
    }
    const oidc = ['OIDC_ISSUER', 'OIDC_JWKS_URL', 'OIDC_AUDIENCE'] as const;
    const oidcGiven = oidc.filter((k) => s[k] !== undefined);
    if ((s.DIMSE_TLS_CERT === undefined) !== (s.DIMSE_TLS_KEY === undefined) || (s.DIMSE_TLS_CA !== undefined && s.DIMSE_TLS_CERT === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [s.DIMSE_TLS_CERT === undefined ? 'DIMSE_TLS_CERT' : 'DIMSE_TLS_KEY'],
        message: 'DICOM TLS needs DIMSE_TLS_CERT and DIMSE_TLS_KEY (PEM files), and DIMSE_TLS_CA only with them (client certificates required)',
      });
    }
    if (oidcGiven.length > 0 && oidcGiven.length < oidc.length) {
      const missing = oidc.filter((k) => s[k] === undefined);
      ctx.addIssue({
        code: 'custom',
        path: [missing[0]],
        message: `OpenID Connect needs all of ${oidc.join(', ')}; missing ${missing.join(', ')}`,
      });
    }
    if (oidcGiven.length > 0 && s.OIDC_CLIENT_ID === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['OIDC_CLIENT_ID'],
        message:
          "is required with OpenID Connect: the web app signs people in at the provider (authorization code with PKCE) as this public client; register it there with the redirect URI <public URL>/sign-in/callback (docs/operations.md)",
      });
    }
    const webClient = (['OIDC_CLIENT_ID', 'OIDC_SCOPES'] as const).filter((k) => s[k] !== undefined);
    if (webClient.length > 0 && oidcGiven.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: [webClient[0]],
        message: `${webClient.join(', ')} ${webClient.length > 1 ? 'describe' : 'describes'} the web app's sign-in at an OpenID Connect provider: set OIDC_ISSUER, OIDC_JWKS_URL and OIDC_AUDIENCE too, or unset ${webClient.length > 1 ? 'them' : 'it'}`,
      });
    }
    const claimSettings = CLAIMS_MAPPING_VARIABLES.filter((k) => s[k] !== undefined && s[k].trim() !== '');
    if (claimSettings.length > 0 && oidcGiven.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: [claimSettings[0]],
        message: `${claimSettings.join(', ')} ${claimSettings.length > 1 ? 'map' : 'maps'} the claims of an OpenID Connect provider's tokens: set OIDC_ISSUER, OIDC_JWKS_URL and OIDC_AUDIENCE too, or unset ${claimSettings.length > 1 ? 'them' : 'it'} (embedded tokens always use the default claims)`,
      });
    }
    const mapping = parseClaimsMapping(s);
    if (!mapping.ok) {
      for (const problem of mapping.problems) ctx.addIssue({ code: 'custom', path: [problem.variable], message: problem.message });
    }
  });

export type RawSettings = z.infer<typeof settingsSchema>;

/** Tunables of the routing worker. */
export interface RoutingOptions {
  /** A study is stable when no instance arrived for this long (ASTREINTE_STABILITY_SECONDS, default 10 s). */
  stabilityMs: number;
  /**
   * Period of the safety sweep that routes stable studies whose job was lost and takes escalation hops whose
   * job was lost (ASTREINTE_ROUTING_SWEEP_SECONDS, default 30 s; 0 turns it off).
   */
  sweepIntervalMs: number;
  /** Routing jobs processed at once by this process (ASTREINTE_ROUTING_CONCURRENCY, default 8). */
  concurrency: number;
  /**
   * Whether this process runs workers (routing, escalation, sweeps) or only records activity and enqueues jobs
   * for worker processes started with `astreinte worker` (ASTREINTE_ROUTING_CONSUME, default true).
   */
  consume: boolean;
}

export const DEFAULT_ROUTING_OPTIONS: Readonly<RoutingOptions> = {
  stabilityMs: 10_000,
  sweepIntervalMs: 30_000,
  concurrency: 8,
  consume: true,
};

export interface Settings {
  port: number;
  host: string;
  dataDir: string;
  database:
    | { kind: 'external'; url: string; /** Role that owns the schema and runs migrations; absent: DATABASE_URL's role does. */ ownerUrl?: string }
    | { kind: 'embedded'; port: number; dir: string };
  objectStore:
    | { kind: 'filesystem'; dir: string }
    | { kind: 's3'; endpoint: string; bucket: string; accessKey: string; secretKey: string; region: string };
  redisUrl?: string;
  publicUrl?: string;
  trustProxy: boolean;
  auth:
    | { kind: 'embedded'; keyDir: string; audience: string }
    | {
        kind: 'oidc';
        issuer: string;
        jwksUrl: string;
        audience: string;
        claims?: ClaimsMapping;
        /** The web app's sign-in at the provider: its public client id (OIDC_CLIENT_ID) and the scopes it asks for. */
        webClient: { clientId: string; scopes: readonly string[] };
      };
  corsOrigins: string[] | '*';
  stow: { maxRequestBytes: number; maxParts: number };
  spoolDir: string;
  logLevel: RawSettings['LOG_LEVEL'];
  /** Administrators configure; they see patient data only when this is set. */
  adminSeesPatientData: boolean;
  /**
   * How long the pools of a completed item (and those it was offered to) keep it and its study's images
   * (ASTREINTE_POOL_ACCESS_AFTER_COMPLETION_HOURS, whole hours, default 0: its assignee only from completion).
   */
  worklist: { poolAccessAfterCompletionMs: number };
  /** Requests per token (per address for requests without a valid token); `requestsPerSecond` 0: no limit. */
  rateLimit: { requestsPerSecond: number; burst: number };
  /** The regional configuration file (ASTREINTE_CONFIG, relative to the working directory, or the shipped default). */
  regionConfigPath: string;
  /** ASTREINTE_NOW: the clock starts at this instant and runs (rehearsals, training); else the system clock. */
  clockStart?: Date;
  routing: RoutingOptions;
  /** ASTREINTE_AUDIT_SITE: the site named in exported audit events (default: the host name). */
  auditSite?: string;
  /** Where the audit chain's head is exported (ASTREINTE_AUDIT_HEAD_EXPORT), every `intervalMs` and at shutdown. */
  auditHeadExport: { sink: AuditHeadSink; intervalMs: number };
  /** DICOM network listener; `port` 0: none. `tls.caFile`: client certificates signed by it are required. */
  /** `maxAssociations`: concurrent associations, all sites together (DIMSE_MAX_ASSOCIATIONS, default 64). */
  dimse: { port: number; host: string; aeTitle: string; maxAssociations: number; tls?: { certFile: string; keyFile: string; caFile?: string } };
  /**
   * Report delivery: tries per destination before a technical incident (ASTREINTE_DELIVERY_ATTEMPTS, default 8)
   * and the first wait between tries, doubled at each (ASTREINTE_DELIVERY_BACKOFF_SECONDS, default 30 s).
   */
  delivery: { attempts: number; backoffMs: number };
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigurationError(
      parsed.error.issues.map((i) => {
        const key = String(i.path[0] ?? 'environment');
        const value = env[key];
        return `${key}${value === undefined ? '' : `=${JSON.stringify(value)}`}: ${i.message}`;
      }),
    );
  }
  const s = parsed.data;
  const dataDir = path.resolve(s.ASTREINTE_DATA_DIR);
  return {
    port: s.PORT,
    host: s.HOST,
    dataDir,
    database: s.DATABASE_URL
      ? { kind: 'external', url: s.DATABASE_URL, ownerUrl: s.DATABASE_OWNER_URL }
      : { kind: 'embedded', port: s.EMBEDDED_PG_PORT, dir: path.join(dataDir, 'postgres') },
    objectStore:
      s.S3_ENDPOINT && s.S3_BUCKET && s.S3_ACCESS_KEY && s.S3_SECRET_KEY
        ? {
            kind: 's3',
            endpoint: s.S3_ENDPOINT,
            bucket: s.S3_BUCKET,
            accessKey: s.S3_ACCESS_KEY,
            secretKey: s.S3_SECRET_KEY,
            region: s.S3_REGION,
          }
        : { kind: 'filesystem', dir: path.join(dataDir, 'objects') },
    redisUrl: s.REDIS_URL,
    publicUrl: s.ASTREINTE_PUBLIC_URL?.replace(/\/+$/, ''),
    trustProxy: s.TRUST_PROXY === 'true',
    auth:
      s.OIDC_ISSUER && s.OIDC_JWKS_URL && s.OIDC_AUDIENCE
        ? {
            kind: 'oidc',
            issuer: s.OIDC_ISSUER,
            jwksUrl: s.OIDC_JWKS_URL,
            audience: s.OIDC_AUDIENCE,
            claims: claimsMappingOf(s),
            webClient: { clientId: webClientIdOf(s), scopes: s.OIDC_SCOPES ?? DEFAULT_OIDC_SCOPES },
          }
        : { kind: 'embedded', keyDir: path.join(dataDir, 'keys'), audience: s.TOKEN_AUDIENCE },
    corsOrigins: s.CORS_ORIGINS === '*' ? '*' : s.CORS_ORIGINS.split(',').map((o) => o.trim()),
    stow: { maxRequestBytes: s.STOW_MAX_REQUEST_BYTES, maxParts: s.STOW_MAX_PARTS },
    spoolDir: path.join(dataDir, 'spool'),
    logLevel: s.LOG_LEVEL,
    adminSeesPatientData: s.ASTREINTE_ADMIN_PATIENT_ACCESS === 'true',
    worklist: { poolAccessAfterCompletionMs: s.ASTREINTE_POOL_ACCESS_AFTER_COMPLETION_HOURS * 3_600_000 },
    rateLimit: { requestsPerSecond: s.RATE_LIMIT_RPS, burst: s.RATE_LIMIT_BURST },
    regionConfigPath: s.ASTREINTE_CONFIG?.trim() ? path.resolve(s.ASTREINTE_CONFIG.trim()) : DEFAULT_REGION_CONFIG_PATH,
    clockStart: s.ASTREINTE_NOW,
    routing: {
      stabilityMs: s.ASTREINTE_STABILITY_SECONDS,
      sweepIntervalMs: s.ASTREINTE_ROUTING_SWEEP_SECONDS,
      concurrency: s.ASTREINTE_ROUTING_CONCURRENCY,
      consume: s.ASTREINTE_ROUTING_CONSUME,
    },
    auditSite: s.ASTREINTE_AUDIT_SITE,
    auditHeadExport: {
      sink: s.ASTREINTE_AUDIT_HEAD_EXPORT ?? { kind: 'file', path: path.join(dataDir, 'audit', 'head.jsonl') },
      intervalMs: s.ASTREINTE_AUDIT_HEAD_EXPORT_SECONDS,
    },
    dimse: {
      port: s.DIMSE_PORT,
      host: s.DIMSE_HOST ?? s.HOST,
      aeTitle: s.DIMSE_AE_TITLE,
      maxAssociations: s.DIMSE_MAX_ASSOCIATIONS,
      tls: s.DIMSE_TLS_CERT && s.DIMSE_TLS_KEY ? { certFile: s.DIMSE_TLS_CERT, keyFile: s.DIMSE_TLS_KEY, caFile: s.DIMSE_TLS_CA } : undefined,
    },
    delivery: { attempts: s.ASTREINTE_DELIVERY_ATTEMPTS, backoffMs: s.ASTREINTE_DELIVERY_BACKOFF_SECONDS },
  };
}

function claimsMappingOf(s: RawSettings): ClaimsMapping {
  const parsed = parseClaimsMapping(s);
  if (!parsed.ok) throw new Error('unreachable: the claims mapping was validated with the other settings');
  return parsed.mapping;
}

function webClientIdOf(s: RawSettings): string {
  if (s.OIDC_CLIENT_ID === undefined) throw new Error('unreachable: OIDC_CLIENT_ID was required with the other OIDC settings');
  return s.OIDC_CLIENT_ID;
}
