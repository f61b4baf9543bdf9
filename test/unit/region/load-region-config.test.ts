import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegionConfig, parseRegionConfig } from '../../../config/region/load-region-config.ts';
import { RegionConfigError, type RegionConfigProblem } from '../../../config/region/region-config-error.ts';
import { DEFAULT_REGION_CONFIG_PATH } from '../../../config/region/resolve-config-path.ts';
import { loadSettings } from '../../../config/settings.ts';

const examples = fileURLToPath(new URL('../../../config/examples/', import.meta.url));

const BASE = `version: 1
region: { id: test, name: Test region }
territories:
  - { id: ariege, name: Ariège }
  - { id: tarn, name: Tarn }
sites:
  - finess: "090000050"
    name: CH Saint-Girons
    kind: hospital
    territory: ariege
    aeTitles: [STGIRONS_CT]
    membership: full
  - { finess: "810000380", name: CH Lavaur, kind: hospital, territory: tarn, membership: full }
readers:
  - { rpps: "10009000011", name: Dr A, qualifications: [radiologist], territories: [ariege, tarn] }
  - { rpps: "10009000029", name: Dr B, qualifications: [radiologist], territories: [ariege, tarn] }
  - { rpps: "10031000101", name: Dr N, qualifications: [neuroradiologist], sites: ["090000050"] }
pools:
  - { id: pdses-ariege, name: PDSES Ariège, kind: pdses, territory: ariege, members: ["10009000011", "10009000029"] }
  - { id: pole-neuro, name: Pôle neuro, kind: expertise-pole, expertise: neuroradiology, members: ["10031000101"] }
rotas:
  - pool: pdses-ariege
    weekly:
      - { id: nights, days: [mon, tue, wed, thu, fri], start: "18:30", end: "08:30", reader: "10009000011", backup: "10009000029" }
      - { id: weekend, from: "sat 08:30", to: "mon 08:30", reader: "10009000029", backup: "10009000011" }
    assignments:
      - { from: 2026-08-10T08:30, to: 2026-08-17T08:30, reader: "10009000029", backup: "10009000011" }
priorities:
  - { id: stat, rank: 1, deadline: 30m, warningAt: "50%" }
  - { id: urgent, rank: 2, deadline: 1h }
escalationChains:
  - { id: default, steps: [backup, territory-readers, { pool: pole-neuro }, coordinator] }
rules:
  - id: stroke
    match: { categories: [stroke], pattern: "avc|thromboly" }
    route: { pools: [territory:pdses, pole-neuro], notify: [pole-neuro], priority: stat, escalation: default }
  - id: any
    route: { pools: [pole-neuro], priority: urgent }
`;

function problemsOf(yaml: string): RegionConfigProblem[] {
  try {
    parseRegionConfig(yaml, 'region.yaml');
  } catch (error) {
    if (error instanceof RegionConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

/** 1-based line of the first line containing `needle` in `text`. */
function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((l) => l.includes(needle));
  if (index < 0) throw new Error(`test fixture has no ${needle}`);
  return index + 1;
}

function expectOneProblem(yaml: string, lineNeedle: string, message: RegExp): RegionConfigProblem {
  const problems = problemsOf(yaml);
  expect(problems, JSON.stringify(problems, null, 1)).toHaveLength(1);
  expect(problems[0].message).toMatch(message);
  expect(problems[0].line).toBe(lineOf(yaml, lineNeedle));
  expect(problems[0].column).toBeGreaterThan(0);
  return problems[0];
}

function expectProblem(yaml: string, lineNeedle: string, message: RegExp): void {
  const problems = problemsOf(yaml);
  const found = problems.find((p) => message.test(p.message));
  expect(found, JSON.stringify(problems, null, 1)).toBeDefined();
  expect(found?.line).toBe(lineOf(yaml, lineNeedle));
}

describe('region configuration: valid files', () => {
  it('accepts the fixture and builds lookups, minutes and durations', () => {
    const config = parseRegionConfig(BASE, 'region.yaml');
    expect(config.siteByAeTitle.get('STGIRONS_CT')?.name).toBe('CH Saint-Girons');
    expect(config.readerByRpps.get('10009000011')?.sites).toEqual(['090000050', '810000380']);
    expect(config.poolById.get('pdses-ariege')?.timezone).toBe('Europe/Paris');
    expect(config.rotaByPool.get('pdses-ariege')?.weekly[1]).toMatchObject({ startDays: ['sat'], start: 510, end: 510, spanDays: 2 });
    expect(config.priorityById.get('stat')).toMatchObject({ deadlineMs: 1_800_000, warningMs: 900_000 });
    expect(config.priorityById.get('urgent')?.warningMs).toBe(1_800_000);
    expect(config.rules[0].route.pools).toEqual([{ kind: 'territory', poolKind: 'pdses' }, { kind: 'pool', pool: 'pole-neuro' }]);
    expect(config.rotaByPool.get('pdses-ariege')?.assignments[0].fromInstant.toISOString()).toBe('2026-08-10T06:30:00.000Z');
  });

  it('ships two regions that pass the checks, Midi-Pyrénées being the default', async () => {
    const midi = await loadRegionConfig(DEFAULT_REGION_CONFIG_PATH);
    expect(midi.region.id).toBe('midi-pyrenees');
    expect(midi.territories.map((t) => t.id)).toEqual([
      'ariege',
      'aveyron',
      'gers',
      'haute-garonne',
      'hautes-pyrenees',
      'lot',
      'tarn',
      'tarn-et-garonne',
    ]);
    const names = midi.sites.map((s) => s.name).join('|');
    for (const name of ['Saint-Girons', 'CHU de Toulouse', 'Lavaur', 'Moissac', 'Lannemezan', "Val d'Ariège", 'Lavelanet', 'Millau', 'Saint-Affrique', 'Seysses', 'Joseph Ducuing']) {
      expect(names).toContain(name);
    }
    expect(midi.sites.some((s) => s.membership === 'archive-only')).toBe(true);
    expect(midi.pools.filter((p) => p.kind === 'pdses')).toHaveLength(8);
    const paca = await loadRegionConfig(path.join(examples, 'paca.yaml'));
    expect(paca.region.id).toBe('paca');
    expect(paca.source).toBe(path.join(examples, 'paca.yaml'));
  });

  it('resolves the path from ASTREINTE_CONFIG or falls back to the shipped default', () => {
    expect(loadSettings({}).regionConfigPath).toBe(DEFAULT_REGION_CONFIG_PATH);
    expect(DEFAULT_REGION_CONFIG_PATH).toBe(path.join(examples, 'midi-pyrenees.yaml'));
    expect(loadSettings({ ASTREINTE_CONFIG: 'config/examples/paca.yaml' }).regionConfigPath).toBe(
      path.resolve('config/examples/paca.yaml'),
    );
  });
});

describe('region configuration: every error names its line and what to fix', () => {
  it('YAML syntax errors', () => {
    const yaml = BASE.replace('  - { id: tarn, name: Tarn }', '  - { id: tarn, name: Tarn\n');
    const problems = problemsOf(yaml);
    expect(problems[0].message).toMatch(/^YAML syntax/);
    const dup = BASE.replace('region: { id: test, name: Test region }', 'region: { id: test, name: Test region }\nversion: 1');
    expect(problemsOf(dup)[0]).toMatchObject({ line: 3, message: expect.stringMatching(/appears twice/) });
  });

  it('an unquoted FINESS read as a number', () => {
    const problem = expectOneProblem(BASE.replace('finess: "090000050"', 'finess: 090000050'), 'finess: 090000050', /sites\[0\]\.finess/);
    expect(problem.message).toMatch(/YAML read 090000050 as the number 90000050: put it in quotes, "090000050"/);
    expect(problem.column).toBe(13);
  });

  it('FINESS and RPPS formats', () => {
    expectOneProblem(BASE.replace('"810000380"', '"81000038"'), '"81000038"', /FINESS number is 9 characters/);
    expectOneProblem(BASE.replace('{ rpps: "10031000101"', '{ rpps: "1003100010"'), '"1003100010"', /RPPS number is exactly 11 digits/);
    // Corsica's département codes are accepted.
    const corsica = BASE.replace('"810000380"', '"2A0000013"');
    expect(() => parseRegionConfig(corsica, 'region.yaml')).not.toThrow();
  });

  it('time zones and times of day', () => {
    expectOneProblem(BASE.replace('{ id: tarn, name: Tarn }', '{ id: tarn, name: Tarn, timezone: Europe/Albi }'), 'Europe/Albi', /IANA name such as Europe\/Paris/);
    expectOneProblem(BASE.replace('start: "18:30"', 'start: "18h30"'), '18h30', /HH:MM/);
    expectOneProblem(BASE.replace('from: "sat 08:30"', 'from: "samedi 08:30"'), 'samedi', /day of the week/);
  });

  it('unknown keys, with a suggestion', () => {
    const yaml = BASE.replace('members: ["10031000101"]', 'memebers: ["10031000101"]');
    expectProblem(yaml, 'memebers', /pools\[1\]\.memebers: unknown key "memebers"; did you mean "members"\?/);
    expectProblem(yaml, 'memebers', /pools\[1\]\.members: is missing; it must be a list/);
  });

  it('a missing required field', () => {
    const yaml = BASE.replace('    kind: hospital\n    territory: ariege\n', '    territory: ariege\n');
    expectOneProblem(yaml, 'finess: "090000050"', /sites\[0\]\.kind: is missing; it must be one of: hospital, clinic, prison-health-unit, ehpad/);
  });

  it("a site's territory must exist", () => {
    expectOneProblem(BASE.replace('territory: ariege\n    aeTitles', 'territory: ariège\n    aeTitles'), 'territory: ariège', /ids are lower-case/);
    expectOneProblem(BASE.replace('territory: ariege\n    aeTitles', 'territory: couserans\n    aeTitles'), 'territory: couserans', /unknown territory "couserans"; territories are: ariege, tarn/);
  });

  it("a pool's members and a reader's sites must exist", () => {
    expectOneProblem(BASE.replace('members: ["10031000101"]', 'members: ["10031000999"]'), '10031000999', /unknown reader 10031000999/);
    expectOneProblem(BASE.replace('sites: ["090000050"]', 'sites: ["090000099"]'), '090000099', /unknown site "090000099"/);
  });

  it('pool members need the qualification of the pool', () => {
    expectOneProblem(
      BASE.replace('members: ["10031000101"]', 'members: ["10009000011"]'),
      'id: pole-neuro',
      /cannot sit in expertise-pole pool pole-neuro: it needs one of the qualifications neuroradiologist/,
    );
  });

  it('rotas refer to existing pools and to members of the pool', () => {
    const typo = BASE.replace('- pool: pdses-ariege', '- pool: pdses-arige');
    expectProblem(typo, 'pool: pdses-arige', /unknown pool "pdses-arige"/);
    expectProblem(typo, 'id: pdses-ariege', /PDSES pool pdses-ariege has no rota/);
    expectOneProblem(
      BASE.replace('reader: "10009000029", backup: "10009000011" }\n    assignments', 'reader: "10031000101", backup: "10009000011" }\n    assignments'),
      'id: weekend',
      /10031000101 is not a member of pool pdses-ariege/,
    );
    expectOneProblem(
      BASE.replace('reader: "10009000011", backup: "10009000029" }\n      - { id: weekend', 'reader: "10009000011", backup: "10009000011" }\n      - { id: weekend'),
      'id: nights',
      /backup must be someone other than the reader/,
    );
    expectOneProblem(
      BASE.replace('reader: "10009000011", backup: "10009000029" }\n      - { id: weekend', 'reader: "10009000011" }\n      - { id: weekend'),
      'id: nights',
      /either reader \+ backup/,
    );
  });

  it('overlapping weekly shifts and dated assignments', () => {
    expectOneProblem(BASE.replace('from: "sat 08:30"', 'from: "fri 20:00"'), 'id: weekend', /shift weekend starting fri overlaps shift nights starting fri/);
    const twoAssignments = BASE.replace(
      '      - { from: 2026-08-10T08:30, to: 2026-08-17T08:30, reader: "10009000029", backup: "10009000011" }',
      '      - { from: 2026-08-10T08:30, to: 2026-08-17T08:30, reader: "10009000029", backup: "10009000011" }\n' +
        '      - { from: 2026-08-16T18:30, to: 2026-08-18T08:30, reader: "10009000011", backup: "10009000029" }',
    );
    expectOneProblem(twoAssignments, '2026-08-16T18:30', /overlaps assignments\[0\] \(2026-08-10T08:30 -> 2026-08-17T08:30\)/);
    expectOneProblem(BASE.replace('to: 2026-08-17T08:30', 'to: 2026-08-09T08:30'), '2026-08-09T08:30', /ends \(2026-08-09T08:30\) before it starts/);
  });

  it('a PDSES reader must be entitled to every full site of the territory', () => {
    const yaml = BASE.replace(
      '{ rpps: "10009000029", name: Dr B, qualifications: [radiologist], territories: [ariege, tarn] }',
      '{ rpps: "10009000029", name: Dr B, qualifications: [radiologist], territories: [tarn] }',
    );
    const problems = problemsOf(yaml);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0].message).toMatch(/Dr B \(10009000029\) is on the PDSES rota of ariege but is not entitled to read for CH Saint-Girons \(090000050\)/);
  });

  it('rules refer to existing pools, priorities and chains, with a valid pattern', () => {
    expectOneProblem(BASE.replace('priority: stat, escalation', 'priority: stroke, escalation'), 'priority: stroke', /unknown priority "stroke"; priorities are: stat, urgent/);
    expectOneProblem(BASE.replace('notify: [pole-neuro]', 'notify: [pole-neurologie]'), 'pole-neurologie', /unknown pool "pole-neurologie"/);
    expectOneProblem(BASE.replace('escalation: default }', 'escalation: nightly }'), 'escalation: nightly', /unknown escalation chain "nightly"/);
    expectOneProblem(BASE.replace('pattern: "avc|thromboly"', 'pattern: "avc|(thromboly"'), 'avc|(thromboly', /not a valid regular expression/);
  });

  it('a rule must reach a pool for every site it can match', () => {
    expectOneProblem(
      BASE.replace('pools: [territory:pdses, pole-neuro]', 'pools: [territory:pdses]'),
      'pools: [territory:pdses]',
      /rule stroke can match CH Lavaur \(territory tarn\) but none of its pools exists there/,
    );
  });

  it('escalation chains: valid steps referring to existing pools', () => {
    expectOneProblem(BASE.replace('{ pool: pole-neuro }, coordinator', '{ pool: pole-cardio }, coordinator'), 'pole-cardio', /unknown pool "pole-cardio"/);
    expectOneProblem(BASE.replace('steps: [backup,', 'steps: [chief,'), 'steps: [chief', /a step is backup, pool-members, territory-readers, coordinator/);
    expectOneProblem(BASE.replace('territory-readers, { pool', 'backup, { pool'), 'steps: [backup', /already appears earlier/);
  });

  it('durations and warning points', () => {
    expectOneProblem(BASE.replace('deadline: 30m', 'deadline: 30 minutes'), '30 minutes', /duration such as 30m/);
    expectOneProblem(BASE.replace('warningAt: "50%"', 'warningAt: "45m"'), '45m', /must fall within the deadline/);
  });

  it('a missing file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'region-'));
    try {
      await expect(loadRegionConfig(path.join(dir, 'none.yaml'))).rejects.toThrow(/does not exist.*ASTREINTE_CONFIG/);
      await writeFile(path.join(dir, 'list.yaml'), '- a\n- b\n');
      await expect(loadRegionConfig(path.join(dir, 'list.yaml'))).rejects.toThrow(/must be a YAML mapping/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lists every problem as file:line:column: message', () => {
    const yaml = BASE.replace('finess: "090000050"', 'finess: 090000050').replace('"810000380"', '"81000038"');
    try {
      parseRegionConfig(yaml, 'conf/region.yaml');
      expect.unreachable();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('has 2 problems');
      expect(message).toContain(`conf/region.yaml:${lineOf(yaml, 'finess: 090000050')}:13: sites[0].finess:`);
    }
  });
});

describe('region configuration: report destinations', () => {
  const withDestinations = (lines: string) => BASE.replace('    aeTitles: [STGIRONS_CT]\n', `    aeTitles: [STGIRONS_CT]\n    reportDestinations:\n${lines}`);

  it('reads several destinations per site: DICOMweb with its auth from the environment, C-STORE, HL7 over MLLP', () => {
    const config = parseRegionConfig(
      withDestinations(
        '      - { id: pacs, kind: dicomweb, target: "https://pacs.example/dicomweb/", auth: { kind: bearer, tokenEnv: SG_PACS_TOKEN } }\n' +
          '      - { kind: dicom, aeTitle: SG_PACS, target: "dicoms://pacs.example:2762" }\n' +
          '      - { kind: hl7-mllp, target: "mllp://ris.example:2575", receivingApplication: XPLORE }\n',
      ),
      'region.yaml',
    );
    expect(config.siteByFiness.get('090000050')?.reportDestinations).toEqual([
      { id: 'pacs', kind: 'dicomweb', url: 'https://pacs.example/dicomweb', auth: { kind: 'bearer', tokenEnv: 'SG_PACS_TOKEN' } },
      { id: 'dicom-2', kind: 'dicom', aeTitle: 'SG_PACS', host: 'pacs.example', port: 2762, tls: true, callingAeTitle: 'ASTREINTE' },
      { id: 'hl7-mllp-3', kind: 'hl7-mllp', host: 'ris.example', port: 2575, receivingApplication: 'XPLORE', receivingFacility: '090000050' },
    ]);
    expect(config.siteByFiness.get('810000380')?.reportDestinations).toEqual([]);
  });

  it('refuses the sftp kind, a URL of the wrong scheme, a secret written in the file and a duplicated id', () => {
    expectProblem(withDestinations('      - { kind: sftp, target: "sftp://x.example/in" }\n'), 'kind: sftp', /dicomweb \(STOW-RS\), dicom \(C-STORE\), hl7-mllp/);
    expectProblem(withDestinations('      - { kind: hl7-mllp, target: "https://ris.example" }\n'), 'kind: hl7-mllp', /must be a mllp URL/);
    expectProblem(withDestinations('      - { kind: dicomweb, target: "https://p.example", auth: { kind: bearer, token: abc } }\n'), 'kind: dicomweb', /auth\.token: unknown key/);
    expectProblem(
      withDestinations('      - { id: pacs, kind: dicomweb, target: "https://a.example" }\n      - { id: pacs, kind: dicomweb, target: "https://b.example" }\n'),
      'https://b.example',
      /destination id pacs is used twice/,
    );
  });
});
