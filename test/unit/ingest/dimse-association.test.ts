import dicomParser from 'dicom-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RegionConfig, Site } from '../../../config/region/region-config.ts';
import { loadRegionConfig } from '../../../config/region/load-region-config.ts';
import { DEFAULT_REGION_CONFIG_PATH } from '../../../config/region/resolve-config-path.ts';
import { fileMetaInformation, IMPLEMENTATION_CLASS_UID } from '../../../core/dicom/file-meta-information.ts';
import { createAssociationPolicy } from '../../../gateway/ingest/dimse/association-policy.ts';
import { cStoreStatusOf, errorComment } from '../../../gateway/ingest/dimse/c-store-status.ts';
import { MAX_PDATA_LENGTH, PduGuard } from '../../../gateway/ingest/dimse/pdu-guard.ts';
import { answerPresentationContext } from '../../../gateway/ingest/dimse/presentation-contexts.ts';

let region: RegionConfig;
beforeAll(async () => {
  const loaded = await loadRegionConfig(DEFAULT_REGION_CONFIG_PATH);
  // CHIVA (090781774) only from its imaging network and one PACS in IPv6.
  const sites: Site[] = loaded.sites.map((s) => (s.finess === '090781774' ? { ...s, dicomAddresses: ['10.9.0.0/16', '2001:db8::7'] } : s));
  const siteByAeTitle = new Map<string, Site>();
  for (const site of sites) for (const ae of site.aeTitles) siteByAeTitle.set(ae.toUpperCase(), site);
  region = { ...loaded, sites, siteByAeTitle };
});

describe('association rules', () => {
  const request = (callingAeTitle: string, remoteAddress = '10.9.4.2', calledAeTitle = 'ASTREINTE ') => ({ callingAeTitle, calledAeTitle, remoteAddress });

  it("maps the calling AE title to its site, from the site's addresses (IPv4, IPv4-mapped, IPv6)", () => {
    const decide = createAssociationPolicy({ aeTitle: 'ASTREINTE', regionConfig: region, requireClientCertificate: false });
    expect(decide(request('CHIVA_CT'))).toMatchObject({ kind: 'accept', site: { finess: '090781774' } });
    expect(decide(request('chiva_mr ', '::ffff:10.9.200.1'))).toMatchObject({ kind: 'accept', site: { finess: '090781774' } });
    expect(decide(request('CHIVA_DX', '2001:db8::7'))).toMatchObject({ kind: 'accept' });
    expect(decide(request('CHIVA_CT', '192.168.1.10'))).toMatchObject({ kind: 'reject', reason: 3 });
    // A site without dicomAddresses is reached from anywhere.
    expect(decide(request('STGIRONS_CT', '192.168.1.10'))).toMatchObject({ kind: 'accept', site: { finess: '090000050' } });
  });

  it('rejects an unknown calling AE (reason 3) and another called AE (reason 7)', () => {
    const decide = createAssociationPolicy({ aeTitle: 'ASTREINTE', regionConfig: region, requireClientCertificate: false });
    expect(decide(request('NOBODY'))).toMatchObject({ kind: 'reject', reason: 3 });
    expect(decide(request('CHIVA_CT', '10.9.0.1', 'ORTHANC'))).toMatchObject({ kind: 'reject', reason: 7 });
  });

  it("requires, when asked, a certificate naming the calling AE's site (FINESS or one of its AE titles)", () => {
    const decide = createAssociationPolicy({ aeTitle: 'ASTREINTE', regionConfig: region, requireClientCertificate: true });
    expect(decide({ ...request('CHIVA_CT'), clientCertificateName: '090781774' })).toMatchObject({ kind: 'accept' });
    expect(decide({ ...request('CHIVA_CT'), clientCertificateName: 'CHIVA_MR' })).toMatchObject({ kind: 'accept' });
    expect(decide({ ...request('CHIVA_CT'), clientCertificateName: '090000050' })).toMatchObject({ kind: 'reject', reason: 3 });
    expect(decide(request('CHIVA_CT'))).toMatchObject({ kind: 'reject', reason: 3 });
  });
});

describe('presentation contexts', () => {
  it('accepts storage in the transfer syntax proposed first, Implicit VR only when alone, and Verification', () => {
    expect(answerPresentationContext('1.2.840.10008.5.1.4.1.1.2', ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1'])).toEqual({ result: 0, transferSyntaxUid: '1.2.840.10008.1.2.1' });
    expect(answerPresentationContext('1.2.840.10008.5.1.4.1.1.2', ['1.2.840.10008.1.2'])).toEqual({ result: 0, transferSyntaxUid: '1.2.840.10008.1.2' });
    expect(answerPresentationContext('1.2.840.10008.5.1.4.1.1.2', ['1.2.840.10008.1.2.4.90'])).toEqual({ result: 0, transferSyntaxUid: '1.2.840.10008.1.2.4.90' });
    expect(answerPresentationContext('1.2.840.10008.1.1', ['1.2.840.10008.1.2'])).toEqual({ result: 0, transferSyntaxUid: '1.2.840.10008.1.2' });
  });
  it('accepts Deflated Explicit VR Little Endian, refuses unknown syntaxes (4) and services it does not provide (3)', () => {
    expect(answerPresentationContext('1.2.840.10008.5.1.4.1.1.2', ['1.2.840.10008.1.2.1.99'])).toEqual({ result: 0, transferSyntaxUid: '1.2.840.10008.1.2.1.99' });
    expect(answerPresentationContext('1.2.840.10008.5.1.4.1.1.2', ['1.2.3.4.5'])).toEqual({ result: 4 });
    expect(answerPresentationContext('1.2.840.10008.5.1.4.31', ['1.2.840.10008.1.2'])).toEqual({ result: 3 });
    expect(answerPresentationContext('1.2.840.10008.5.1.4.1.2.2.1', ['1.2.840.10008.1.2'])).toEqual({ result: 3 });
  });
});

describe('C-STORE statuses', () => {
  it("answers the ingest path's failure reason, 0xB000 for an instance stored with a warning, in a 64-character LO comment", () => {
    expect(cStoreStatusOf({ kind: 'failed', part: 1, failureReason: 0x0111, message: 'déjà stocké' })).toEqual({ status: 0x0111, comment: 'deja stocke' });
    const stored = { kind: 'stored' as const, sopClassUID: '1', sopInstanceUID: '2', studyInstanceUID: '3', seriesInstanceUID: '4', part: 1, patient: {} };
    expect(cStoreStatusOf({ ...stored, warnings: [] })).toEqual({ status: 0 });
    expect(cStoreStatusOf({ ...stored, warnings: ['x'.repeat(100)] }).status).toBe(0xb000);
    expect(errorComment('a\\b'.repeat(40))).toHaveLength(64);
    expect(errorComment('a\\b')).toBe('a?b');
  });
});

describe('PDU framing guard', () => {
  const header = (type: number, length: number) => {
    const b = Buffer.alloc(6);
    b[0] = type;
    b.writeUInt32BE(length, 2);
    return b;
  };
  it('follows PDUs split across reads and refuses oversized, misplaced and unknown ones', () => {
    const guard = new PduGuard();
    const rq = Buffer.concat([header(1, 100), Buffer.alloc(100)]);
    expect(guard.feed(rq.subarray(0, 3))).toBeUndefined();
    expect(guard.feed(rq.subarray(3))).toBeUndefined();
    expect(guard.feed(Buffer.concat([header(4, MAX_PDATA_LENGTH), Buffer.alloc(10)]))).toBeUndefined();
    expect(guard.feed(Buffer.alloc(MAX_PDATA_LENGTH - 10))).toBeUndefined();
    expect(guard.feed(header(4, MAX_PDATA_LENGTH + 1))).toMatch(/P-DATA-TF announces/);
    expect(new PduGuard().feed(header(4, 10))).toMatch(/before any A-ASSOCIATE-RQ/);
    expect(new PduGuard().feed(header(9, 10))).toMatch(/PDU type 0x09/);
  });
});

describe('File Meta Information written in front of a received data set', () => {
  it('is a valid Part 10 header naming the instance, its transfer syntax, us and the sending AE', () => {
    const meta = fileMetaInformation({ mediaStorageSopClassUid: '1.2.840.10008.5.1.4.1.1.2', mediaStorageSopInstanceUid: '1.2.3.45', transferSyntaxUid: '1.2.840.10008.1.2', sourceAeTitle: 'CHIVA_CT' });
    const ds = dicomParser.parseDicom(Buffer.concat([meta, Buffer.from([0x08, 0x00, 0x18, 0x00, 0x08, 0, 0, 0]), Buffer.from('1.2.3.45')]));
    expect(ds.string('x00020002')).toBe('1.2.840.10008.5.1.4.1.1.2');
    expect(ds.string('x00020003')).toBe('1.2.3.45');
    expect(ds.string('x00020010')).toBe('1.2.840.10008.1.2');
    expect(ds.string('x00020012')).toBe(IMPLEMENTATION_CLASS_UID);
    expect(ds.string('x00020016')).toBe('CHIVA_CT');
    expect(ds.uint32('x00020000')).toBe(meta.length - 144);
  });
});
