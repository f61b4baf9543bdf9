/**
 * Shape of the region YAML file, checked field by field with zod. References between sections (a site's
 * territory, a pool's members...) are checked afterwards by cross-checks.ts, which needs the whole file.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { isValidTimeZone, parseLocalDate, parseDateTime } from '../../core/time/wall-time.ts';
import { parseDuration } from './duration.ts';
import {
  EXAM_CATEGORIES,
  EXPERTISES,
  MEMBERSHIPS,
  POOL_KINDS,
  PRIORITY_FLAGS,
  QUALIFICATIONS,
  SITE_KINDS,
  WEEKDAYS,
} from './region-config.ts';

const typeError = (expected: string) => () => `must be ${expected}`;

const text = z.string({ error: typeError('text') }).trim().min(1, 'must not be empty');

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: () => `must be one of: ${values.join(', ')}` });

const listOf = <T extends z.ZodType>(item: T, example: string) =>
  z.array(item, { error: typeError(`a list, e.g. ${example}`) });

const stringList = <T extends z.ZodType>(item: T) =>
  listOf(item, '[a, b]').min(1, 'list at least one value or remove the key');

export const idSchema = z
  .string({ error: typeError('an id (lower-case letters, digits and dashes)') })
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'ids are lower-case letters, digits and dashes, e.g. haute-garonne or pdses-ariege');

export const finessSchema = z
  .string({ error: typeError('a FINESS number written as a quoted string, e.g. "310781406"') })
  .regex(
    /^(\d{2}|2[AB])\d{7}$/,
    'a FINESS number is 9 characters: the département (2 digits, 2A or 2B) then 7 digits, e.g. "310781406"',
  );

export const rppsSchema = z
  .string({ error: typeError('an RPPS number written as a quoted string, e.g. "10001234567"') })
  .regex(/^\d{11}$/, 'an RPPS number is exactly 11 digits, e.g. "10001234567"');

const timeOfDay = z
  .string({ error: typeError('a time of day in quotes, e.g. "18:30"') })
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'times are HH:MM in 24-hour local time, e.g. "08:30" or "18:30"');

const weekTime = z
  .string({ error: typeError('a day and time, e.g. "sat 08:30"') })
  .regex(
    /^(sun|mon|tue|wed|thu|fri|sat) ([01]\d|2[0-3]):[0-5]\d$/,
    'write a day of the week (mon, tue, wed, thu, fri, sat, sun) and a time, e.g. "sat 08:30"',
  );

const localDate = z
  .string({ error: typeError('a date YYYY-MM-DD') })
  .refine((v) => parseLocalDate(v) !== null, 'must be a calendar date written YYYY-MM-DD, e.g. 2026-08-10');

const localDateTime = z
  .string({ error: typeError('a local date and time, e.g. 2026-08-10T08:30') })
  .refine((v) => {
    const parsed = parseDateTime(v);
    return parsed !== null && parsed.offsetMs === undefined;
  }, 'must be a local date and time without offset, YYYY-MM-DDTHH:MM, e.g. 2026-08-10T08:30 (read in the pool\'s time zone)');

const timezone = z
  .string({ error: typeError('an IANA time zone name, e.g. Europe/Paris') })
  .refine(isValidTimeZone, 'is not a time zone this system knows; use an IANA name such as Europe/Paris');

const duration = z
  .string({ error: typeError('a duration in quotes, e.g. "30m", "1h", "72h"') })
  .refine((v) => parseDuration(v) !== null, 'must be a duration such as 30m, 1h, 1h30m, 24h or 3d');

const warningPoint = z
  .string({ error: typeError('a share of the deadline ("50%") or a duration ("15m")') })
  .regex(
    /^(\d{1,3}(\.\d+)?\s*%|(\d+d)?(\d+h)?(\d+m)?(\d+s)?)$/,
    'must be a share of the deadline such as "50%" or a duration such as "15m"',
  );

const aeTitle = z
  .string({ error: typeError('an AE title') })
  .regex(
    /^[\x20-\x5b\x5d-\x7e]{1,16}$/,
    'an AE title is 1 to 16 printable ASCII characters without backslash, e.g. STGIRONS_CT',
  )
  .refine((v) => v.trim().length > 0, 'an AE title cannot be only spaces');

/** One address or a CIDR block, IPv4 or IPv6: where a site's DICOM modalities and PACS connect from. */
const networkAddress = z
  .string({ error: typeError('an IP address or CIDR block, e.g. 10.31.4.0/24') })
  .refine((v) => isAddressOrBlock(v), 'must be an IP address (10.31.4.12) or a CIDR block (10.31.4.0/24, 2001:db8::/32)');

function isAddressOrBlock(value: string): boolean {
  const [address, bits, ...rest] = value.trim().split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

const modality = z
  .string({ error: typeError('a DICOM modality code') })
  .regex(/^[A-Z0-9]{1,16}$/, 'modality codes are DICOM defined terms in capitals, e.g. CT, MR, CR, DX, US');

const envName = z
  .string({ error: typeError('the name of an environment variable, e.g. CHIVA_PACS_TOKEN') })
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'environment variable names are capitals, digits and underscores, e.g. CHIVA_PACS_TOKEN');

const destinationAuth = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('none') }),
    z.strictObject({ kind: z.literal('bearer'), tokenEnv: envName }),
    z.strictObject({ kind: z.literal('basic'), username: text, passwordEnv: envName }),
  ],
  { error: () => 'auth is { kind: bearer, tokenEnv: VAR }, { kind: basic, username, passwordEnv: VAR } or { kind: none }' },
);

const urlOf = (schemes: string[], example: string) =>
  z
    .string({ error: typeError(`a URL, e.g. ${example}`) })
    .refine((v) => {
      try {
        const url = new URL(v);
        return schemes.includes(url.protocol.slice(0, -1)) && url.hostname !== '';
      } catch {
        return false;
      }
    }, `must be a ${schemes.join(' or ')} URL, e.g. ${example}`);

/** A site's report destinations; `id` defaults to the kind and the position (hl7-mllp-1). */
const reportDestination = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({
      id: idSchema.optional(),
      kind: z.literal('dicomweb'),
      target: urlOf(['https', 'http'], 'https://pacs.chiva.example/dicomweb'),
      auth: destinationAuth.default({ kind: 'none' }),
    }),
    z.strictObject({
      id: idSchema.optional(),
      kind: z.literal('dicom'),
      aeTitle,
      target: urlOf(['dicom', 'dicoms'], 'dicom://pacs.ch-bigorre.example:104 (dicoms:// for TLS)'),
      callingAeTitle: aeTitle.default('ASTREINTE'),
    }),
    z.strictObject({
      id: idSchema.optional(),
      kind: z.literal('hl7-mllp'),
      target: urlOf(['mllp'], 'mllp://sih.ch-saint-girons.example:2575'),
      receivingApplication: text.default('RIS'),
      receivingFacility: text.optional(),
    }),
  ],
  { error: () => 'kind must be one of: dicomweb (STOW-RS), dicom (C-STORE), hl7-mllp (ORU^R01 to the RIS)' },
);

/** A DICOM peer an administrator may send a study to ("send this study to AE X"): a PACS, an archive. */
const dicomPeer = z.strictObject({
  id: idSchema,
  name: text.optional(),
  aeTitle,
  target: urlOf(['dicom', 'dicoms'], 'dicom://pacs.chu-toulouse.example:104 (dicoms:// for TLS)'),
  callingAeTitle: aeTitle.default('ASTREINTE'),
});

const readerPair = z.strictObject({ reader: rppsSchema, backup: rppsSchema });

const rotation = z.strictObject({
  anchor: localDate,
  every: oneOf(['day', 'week'] as const).default('week'),
  turns: listOf(readerPair, '[{ reader: "<RPPS>", backup: "<RPPS>" }]').min(1, 'a rotation needs at least one turn { reader, backup }'),
});

const staffingFields = {
  reader: rppsSchema.optional(),
  backup: rppsSchema.optional(),
  rotation: rotation.optional(),
};

const weeklyShift = z.strictObject({
  id: idSchema,
  label: text.optional(),
  days: listOf(oneOf(WEEKDAYS), '[mon, tue, wed, thu, fri]').min(1, 'list at least one day').optional(),
  start: timeOfDay.optional(),
  end: timeOfDay.optional(),
  from: weekTime.optional(),
  to: weekTime.optional(),
  ...staffingFields,
});

const holidayShift = z.strictObject({
  label: text.optional(),
  start: timeOfDay,
  end: timeOfDay,
  ...staffingFields,
});

const datedAssignment = z.strictObject({
  id: idSchema.optional(),
  from: localDateTime,
  to: localDateTime,
  reader: rppsSchema,
  backup: rppsSchema,
  reason: text.optional(),
});

const territorySchema = z.strictObject({ id: idSchema, name: text, timezone: timezone.default('Europe/Paris') });

const siteSchema = z.strictObject({
  finess: finessSchema,
  name: text,
  kind: oneOf(SITE_KINDS),
  territory: idSchema,
  aeTitles: listOf(aeTitle, '[STGIRONS_CT]').default([]),
  dicomAddresses: listOf(networkAddress, '["10.31.4.0/24"]').optional(),
  dicomMaxAssociations: z.number({ error: typeError('a whole number of concurrent DICOM associations, e.g. 8') }).int('must be a whole number, e.g. 8').min(1, 'at least 1').max(1000, 'at most 1000').optional(),
  reportDestinations: listOf(reportDestination, '[{ kind: dicomweb, target: "https://pacs.example/dicomweb" }]').default([]),
  membership: oneOf(MEMBERSHIPS),
});

const readerSchema = z.strictObject({
  rpps: rppsSchema,
  name: text,
  qualifications: listOf(oneOf(QUALIFICATIONS), '[radiologist]').min(1, 'list at least one qualification'),
  sites: listOf(finessSchema, '["090000050"]').default([]),
  territories: listOf(idSchema, '[ariege]').default([]),
});

const poolSchema = z.strictObject({
  id: idSchema,
  name: text,
  kind: oneOf(POOL_KINDS),
  territory: idSchema.optional(),
  expertise: oneOf(EXPERTISES).optional(),
  members: listOf(rppsSchema, '["10001234567", "10001234568"]').min(1, 'a pool needs at least one member (RPPS)'),
});

const rotaSchema = z.strictObject({
  pool: idSchema,
  weekly: listOf(weeklyShift, '[{ id: nights, days: [mon], start: "18:30", end: "08:30", reader, backup }]').default([]),
  publicHolidays: holidayShift.optional(),
  closedOnPublicHolidays: z.boolean({ error: typeError('true or false') }).default(false),
  assignments: listOf(datedAssignment, '[{ from: 2026-08-10T08:30, to: 2026-08-17T08:30, reader, backup }]').default([]),
});

const prioritySchema = z.strictObject({
  id: idSchema,
  label: text.optional(),
  rank: z.number({ error: typeError('a whole number, 1 = most urgent') }).int().min(1),
  deadline: duration,
  warningAt: warningPoint.default('50%'),
});

const escalationStep = z.union(
  [
    oneOf(['backup', 'pool-members', 'territory-readers', 'coordinator'] as const),
    z.strictObject({ pool: idSchema }),
    z.strictObject({ reader: rppsSchema }),
  ],
  { error: 'a step is backup, pool-members, territory-readers, coordinator, { pool: <pool id> } or { reader: "<RPPS>" }' },
);

const chainSchema = z.strictObject({
  id: idSchema,
  steps: listOf(escalationStep, '[backup, territory-readers, { pool: pole-neuroradiologie }]').min(
    1,
    'an escalation chain needs at least one step',
  ),
});

const poolTarget = z
  .string({ error: typeError('a pool id or territory:<pool kind>') })
  .regex(
    /^(territory:[a-z-]+|[a-z0-9][a-z0-9-]*)$/,
    "a pool target is a pool id (pole-neuro) or territory:<kind> (territory:pdses) for the study territory's pool",
  );

const ruleSchema = z.strictObject({
  id: idSchema,
  description: text.optional(),
  match: z
    .strictObject({
      categories: stringList(oneOf(EXAM_CATEGORIES)).optional(),
      siteKinds: stringList(oneOf(SITE_KINDS)).optional(),
      sites: stringList(finessSchema).optional(),
      territories: stringList(idSchema).optional(),
      modalities: stringList(modality).optional(),
      bodyParts: stringList(text).optional(),
      flags: stringList(oneOf(PRIORITY_FLAGS)).optional(),
      expertise: stringList(oneOf(EXPERTISES)).optional(),
      keywords: stringList(text).optional(),
      pattern: text.optional(),
    })
    .default({}),
  route: z.strictObject({
    pools: listOf(poolTarget, '[territory:pdses, pole-neuroradiologie]').min(1, 'list at least one pool to route to'),
    notify: listOf(idSchema, '[pole-neuroradiologie]').default([]),
    priority: idSchema,
    deadline: duration.optional(),
    warningAt: warningPoint.optional(),
    escalation: idSchema.optional(),
  }),
});

export const regionFileSchema = z.strictObject({
  version: z.literal(1, { error: 'must be 1 (the only version of this format)' }),
  region: z.strictObject({
    id: idSchema,
    name: text,
    timezone: timezone.default('Europe/Paris'),
  }),
  publicHolidays: z
    .strictObject({
      calendar: oneOf(['france', 'france-alsace-moselle', 'none'] as const).default('france'),
      extraDates: listOf(z.strictObject({ date: localDate, name: text }), '[{ date: 2026-06-19, name: Fête locale }]').default([]),
    })
    .default({ calendar: 'france', extraDates: [] }),
  territories: listOf(territorySchema, '[{ id: ariege, name: Ariège }]').min(1, 'list at least one territory'),
  sites: listOf(siteSchema, '[{ finess: "090000050", name: ..., kind: hospital, territory: ariege, membership: full }]').min(
    1,
    'list at least one site',
  ),
  readers: listOf(readerSchema, '[{ rpps: "10001234567", name: ..., qualifications: [radiologist], territories: [ariege] }]').default([]),
  pools: listOf(poolSchema, '[{ id: pdses-ariege, name: ..., kind: pdses, territory: ariege, members: [...] }]').default([]),
  rotas: listOf(rotaSchema, '[{ pool: pdses-ariege, weekly: [...] }]').default([]),
  priorities: listOf(prioritySchema, '[{ id: stat, rank: 1, deadline: 30m }]').min(
    1,
    'list at least one priority (for example stat, urgent, scheduled)',
  ),
  escalationChains: listOf(chainSchema, '[{ id: default, steps: [backup, territory-readers, coordinator] }]').default([]),
  dicomPeers: listOf(dicomPeer, '[{ id: pacs-chu, aeTitle: CHU_PACS, target: "dicom://pacs.chu.example:104" }]').default([]),
  excludedModalities: listOf(z.strictObject({ modality, reason: text }), '[{ modality: US, reason: ... }]').default([]),
  rules: listOf(ruleSchema, '[{ id: stroke, match: { categories: [stroke] }, route: { pools: [territory:pdses], priority: stat } }]').default([]),
});

export type RegionFile = z.infer<typeof regionFileSchema>;
export type RegionFileRota = RegionFile['rotas'][number];
export type RegionFileStaffing = {
  reader?: string;
  backup?: string;
  rotation?: RegionFileRota['weekly'][number]['rotation'];
};
