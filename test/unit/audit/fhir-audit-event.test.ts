import { describe, expect, it } from 'vitest';
import { buildAuditEvent, type AuditEventInput, type RecordedAuditEvent } from '../../../audit/audit-event.ts';
import { eventHash, GENESIS_HASH } from '../../../audit/audit-hash.ts';
import { toFhirAuditEvent } from '../../../audit/fhir-audit-event.ts';
import { auditEventProblems } from './fhir-audit-event-shape.ts';

function recorded(input: AuditEventInput, seq = 42): RecordedAuditEvent {
  const event = buildAuditEvent(input, new Date('2026-11-15T01:10:00Z'), 'gw-1');
  return { seq, prevHash: GENESIS_HASH, hash: eventHash(seq, GENESIS_HASH, event), event };
}

const retrieve: AuditEventInput = {
  type: '110104',
  subtype: 'wado-instances',
  action: 'R',
  actor: { userId: 'sub-123', role: 'reader', rpps: '10001234567', site: '310780770', tokenId: 'jti-9' },
  network: { address: '10.2.3.4', userAgent: 'OHIF/3.9' },
  entities: [
    { kind: 'patient', patientId: '1800175123456', issuer: '1.2.250.1.213.1.4.8' },
    { kind: 'patient', patientId: 'IPP42', issuer: 'CHU-TOULOUSE' },
    { kind: 'study', studyUid: '1.2.826.0.1.3680043.8.498.1', seriesUids: ['1.2.3.4'], sopInstanceUids: ['1.2.3.4.5'] },
  ],
};

describe('FHIR AuditEvent', () => {
  it('maps an instance retrieval with DCM type, national identifiers and our chain extension', () => {
    const fhir = toFhirAuditEvent(recorded(retrieve), { site: 'GCS e-santé Occitanie' });
    expect(auditEventProblems(fhir)).toEqual([]);
    expect(fhir).toMatchObject({
      resourceType: 'AuditEvent',
      id: 'astreinte-audit-42',
      type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110104', display: 'DICOM Instances Transferred' },
      subtype: [{ code: 'wado-instances' }],
      action: 'R',
      recorded: '2026-11-15T01:10:00.000Z',
      outcome: '0',
      source: { site: 'GCS e-santé Occitanie', observer: { display: 'gw-1' } },
    });
    expect(fhir.agent[0]).toMatchObject({
      who: { identifier: { system: 'urn:oid:1.2.250.1.71.4.2.1', value: '810001234567' } },
      altId: 'sub-123',
      requestor: true,
      role: [{ coding: [{ code: 'reader' }] }],
      location: { identifier: { system: 'urn:oid:1.2.250.1.71.4.2.2', value: '1310780770' } },
      policy: ['jti-9'],
      network: { address: '10.2.3.4', type: '2' },
    });
    expect(fhir.entity?.map((e) => e.what?.identifier)).toEqual([
      { system: 'urn:oid:1.2.250.1.213.1.4.8', value: '1800175123456' },
      { value: 'IPP42', assigner: { display: 'CHU-TOULOUSE' } },
      { system: 'urn:dicom:uid', value: 'urn:oid:1.2.826.0.1.3680043.8.498.1' },
    ]);
    expect(fhir.entity?.[2].detail).toEqual([
      { type: 'SeriesInstanceUID', valueString: '1.2.3.4' },
      { type: 'SOPInstanceUID', valueString: '1.2.3.4.5' },
      { type: 'NumberOfInstances', valueString: '1' },
    ]);
    const chain = fhir.extension[0];
    expect(chain.url).toBe('urn:astreinte:fhir:audit-chain');
    expect(chain.extension?.map((x) => [x.url, x.valueString])).toEqual([
      ['seq', '42'],
      ['hash', recorded(retrieve).hash],
      ['prevHash', GENESIS_HASH],
    ]);
  });

  it('maps queries (base64), worklist items, records, failures and system actors', () => {
    const fhir = toFhirAuditEvent(
      recorded({
        type: '110112',
        subtype: 'qido',
        action: 'E',
        outcome: 4,
        outcomeDescription: 'HTTP 403',
        actor: { userId: 'system:routing', role: 'system' },
        entities: [
          { kind: 'query', query: '/dicomweb/studies?PatientID=1', level: 'studies' },
          { kind: 'worklist-item', itemId: '0b6a7a52-7c43-4b7e-9d3b-2f4f8a4c6d10' },
          { kind: 'record', recordType: 'configuration', id: 'region.yaml', description: 'pool changed' },
        ],
      }),
    );
    expect(auditEventProblems(fhir)).toEqual([]);
    expect(fhir).toMatchObject({ outcome: '4', outcomeDesc: 'HTTP 403' });
    expect(fhir.agent[0].who).toEqual({ identifier: { value: 'system:routing' } });
    expect(Buffer.from(fhir.entity![0].query!, 'base64').toString()).toBe('/dicomweb/studies?PatientID=1');
    expect(fhir.entity![1].what?.identifier).toEqual({ system: 'urn:ietf:rfc:3986', value: 'urn:uuid:0b6a7a52-7c43-4b7e-9d3b-2f4f8a4c6d10' });
    expect(fhir.entity![2]).toMatchObject({ name: 'configuration', description: 'pool changed' });
  });

  it('the shape checker catches what R4 forbids', () => {
    expect(auditEventProblems({ resourceType: 'AuditEvent' })).toEqual(
      expect.arrayContaining(['type (1..1 Coding) with system and code', 'recorded (1..1 instant)', 'agent (1..*)', 'source (1..1)']),
    );
  });
});
