import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCtSeries } from '../../test-data/generate-study.ts';
import { failureReasons, stow, type StowResult } from '../support/dicomweb-http.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const SITE_A = '310780010';
const SITE_B = '310781406';

function ctSlices(seed: string, slices = 2): Buffer[] {
  return [...generateCtSeries({ kind: 'ct-head', slices, rows: 32, columns: 32, seed })];
}

/** The words of a refused part (the Warning header says `part N refused (0xXXXX): <message>`). */
function refusalWords(result: StowResult): string[] {
  return result.warnings.map((w) => w.replace(/^299 astreinte "part \d+ refused \(0x[0-9A-F]{4}\): /, '').replace(/"$/, ''));
}

async function auditExport(gw: GatewayProcess): Promise<Record<string, unknown>[]> {
  const repoRoot = path.resolve(import.meta.dirname, '../..');
  const args = [path.join(repoRoot, 'bin/astreinte.cjs'), 'audit', 'export', '--from', '2000-01-01T00:00:00Z', '--to', '2100-01-01T00:00:00Z'];
  const text = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, args, { cwd: repoRoot, env: gw.env, maxBuffer: 64 << 20 }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
  );
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('a sender stores only into its own site’s studies (least privilege)', () => {
  let gw: GatewayProcess;
  let senderA: string;
  let senderB: string;
  let admin: string;

  beforeAll(async () => {
    gw = await startGateway({ env: { ASTREINTE_ADMIN_PATIENT_ACCESS: 'true' } });
    [senderA, senderB, admin] = await Promise.all([
      gw.token('--role', 'sender', '--site', SITE_A),
      gw.token('--role', 'sender', '--site', SITE_B),
      gw.token('--role', 'admin'),
    ]);
  }, 120_000);
  afterAll(async () => {
    await gw?.dispose();
  });

  it('refuses a sender’s instance in a study an administrator imported (site NULL), and stores nothing', async () => {
    const [first, second] = ctSlices('admin-import');
    expect((await stow(gw.dicomweb, admin, [first])).status).toBe(200);
    const refused = await stow(gw.dicomweb, senderA, [second]);
    expect(refused.status).toBe(409);
    expect(failureReasons(refused.body)).toEqual([0x0124]);
    expect(refusalWords(refused)[0]).toMatch(/^This site cannot store instances in this study\. Nothing was stored/);
    const study = await studyOf(second);
    const asAdmin = await fetch(`${gw.dicomweb}/studies/${study}/instances`, { headers: { authorization: `Bearer ${admin}` } });
    expect(((await asAdmin.json()) as unknown[]).length).toBe(1);
  });

  it('answers the same words for another site’s study, an administrator’s import and another site’s SOP Instance UID', async () => {
    const [ownedFirst, ownedSecond] = ctSlices('owned-by-a');
    expect((await stow(gw.dicomweb, senderA, [ownedFirst])).status).toBe(200);
    const intoOtherSite = await stow(gw.dicomweb, senderB, [ownedSecond]);
    const [importedFirst, importedSecond] = ctSlices('imported-by-admin');
    expect((await stow(gw.dicomweb, admin, [importedFirst])).status).toBe(200);
    const intoImport = await stow(gw.dicomweb, senderB, [importedSecond]);
    // The very bytes site A stored, sent by site B: before, a 0x0111 "already stored in another study" told it the
    // instance exists; now the same refusal as any study that is not its own.
    const sameInstance = await stow(gw.dicomweb, senderB, [ownedFirst]);

    for (const refused of [intoOtherSite, intoImport, sameInstance]) {
      expect(refused.status).toBe(409);
      expect(failureReasons(refused.body)).toEqual([0x0124]);
    }
    const words = new Set([intoOtherSite, intoImport, sameInstance].map((r) => refusalWords(r)[0]));
    expect(words.size).toBe(1);
    expect([...words][0]).not.toMatch(/another site|belongs|exists|already/i);
  });

  it('records each refusal as a Security Alert (110113) naming the sender and the study', async () => {
    const [first, second] = ctSlices('alerted');
    expect((await stow(gw.dicomweb, senderA, [first])).status).toBe(200);
    expect((await stow(gw.dicomweb, senderB, [second])).status).toBe(409);
    const study = await studyOf(second);
    const events = await auditExport(gw);
    const alerts = events.filter((e) => JSON.stringify(e).includes('store-into-foreign-study') && JSON.stringify(e).includes(study));
    expect(alerts).toHaveLength(1);
    const alert = JSON.stringify(alerts[0]);
    expect(alert).toContain('110113');
    expect(alert).toContain(SITE_B);
  });
});

async function studyOf(bytes: Buffer): Promise<string> {
  const { default: dicomParser } = await import('dicom-parser');
  return dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' }).string('x0020000d')!;
}
