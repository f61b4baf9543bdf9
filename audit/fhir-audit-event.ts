/**
 * An audit event as a FHIR R4 AuditEvent resource (for the regional SIEM), following the DICOM / IHE BALP
 * conventions: type from the DCM vocabulary, studies identified by urn:dicom:uid, patients by their
 * issuer's OID (urn:oid:1.2.250.1.213.1.4.8 for the INS-NIR), practitioners by their national id
 * (8 + RPPS, OID 1.2.250.1.71.4.2.1), establishments by theirs (1 + FINESS, OID 1.2.250.1.71.4.2.2), the
 * token id as agent.policy. Our seq and hashes travel in the extension {@link AUDIT_CHAIN_EXTENSION}: the
 * SIEM can keep them as anchors for `astreinte audit verify --anchor`.
 */
import { AUDIT_EVENT_TYPES, type AuditEntity, type RecordedAuditEvent } from './audit-event.ts';

export const DCM_SYSTEM = 'http://dicom.nema.org/resources/ontology/DCM';
export const DICOM_UID_SYSTEM = 'urn:dicom:uid';
export const AUDIT_CHAIN_EXTENSION = 'urn:astreinte:fhir:audit-chain';
export const USER_AGENT_EXTENSION = 'urn:astreinte:fhir:user-agent';
export const SUBTYPE_SYSTEM = 'urn:astreinte:audit-subtype';
export const ROLE_SYSTEM = 'urn:astreinte:role';
const ENTITY_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/object-role';
const SOURCE_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/security-source-type';
const RFC3986_SYSTEM = 'urn:ietf:rfc:3986';
const RPPS_OID = '1.2.250.1.71.4.2.1';
const FINESS_OID = '1.2.250.1.71.4.2.2';

export interface FhirCoding {
  system?: string;
  code: string;
  display?: string;
}

export interface FhirIdentifier {
  system?: string;
  value: string;
  assigner?: { display: string };
}

export interface FhirReference {
  type?: string;
  identifier?: FhirIdentifier;
  display?: string;
}

export interface FhirExtension {
  url: string;
  valueString?: string;
  extension?: FhirExtension[];
}

export interface FhirAuditEvent {
  resourceType: 'AuditEvent';
  id: string;
  extension: FhirExtension[];
  type: FhirCoding;
  subtype: FhirCoding[];
  action: string;
  recorded: string;
  outcome: string;
  outcomeDesc?: string;
  agent: {
    who: FhirReference;
    altId?: string;
    requestor: boolean;
    role?: { coding: FhirCoding[] }[];
    location?: FhirReference;
    policy?: string[];
    network?: { address: string; type: '1' | '2' };
    extension?: FhirExtension[];
  }[];
  source: { site?: string; observer: FhirReference; type: FhirCoding[] };
  entity?: {
    what?: FhirReference;
    type: FhirCoding;
    role: FhirCoding;
    name?: string;
    description?: string;
    query?: string;
    detail?: { type: string; valueString: string }[];
  }[];
}

export interface FhirSource {
  /** Where the gateway runs (AuditEvent.source.site), e.g. the region or the hosting establishment. */
  site?: string;
}

export function toFhirAuditEvent(recorded: RecordedAuditEvent, source: FhirSource = {}): FhirAuditEvent {
  const { event } = recorded;
  const actor = event.actor;
  const agentExtensions = event.network?.userAgent ? [{ url: USER_AGENT_EXTENSION, valueString: event.network.userAgent }] : undefined;
  return dropUndefined({
    resourceType: 'AuditEvent',
    id: `astreinte-audit-${recorded.seq}`,
    extension: [
      {
        url: AUDIT_CHAIN_EXTENSION,
        extension: [
          { url: 'seq', valueString: String(recorded.seq) },
          { url: 'hash', valueString: recorded.hash },
          { url: 'prevHash', valueString: recorded.prevHash },
        ],
      },
    ],
    type: { system: DCM_SYSTEM, code: event.type, display: AUDIT_EVENT_TYPES[event.type] },
    subtype: [{ system: SUBTYPE_SYSTEM, code: event.subtype }],
    action: event.action,
    recorded: event.recorded,
    outcome: String(event.outcome),
    outcomeDesc: event.outcomeDescription,
    agent: [
      {
        who: actor.rpps
          ? { type: 'Practitioner', identifier: { system: `urn:oid:${RPPS_OID}`, value: nationalId('8', actor.rpps, 11) } }
          : { identifier: { value: actor.userId } },
        altId: actor.userId,
        requestor: true,
        role: actor.role ? [{ coding: [{ system: ROLE_SYSTEM, code: actor.role }] }] : undefined,
        location: actor.site
          ? { identifier: { system: `urn:oid:${FINESS_OID}`, value: nationalId('1', actor.site, 9) } }
          : undefined,
        policy: actor.tokenId ? [actor.tokenId] : undefined,
        network: event.network?.address ? { address: event.network.address, type: '2' as const } : undefined,
        extension: agentExtensions,
      },
    ],
    source: {
      site: source.site,
      observer: { display: event.observer },
      type: [{ system: SOURCE_TYPE_SYSTEM, code: '4', display: 'Application Server' }],
    },
    entity: event.entities.length > 0 ? event.entities.map(toFhirEntity) : undefined,
  });
}

function toFhirEntity(entity: AuditEntity): NonNullable<FhirAuditEvent['entity']>[number] {
  switch (entity.kind) {
    case 'patient':
      return {
        what: { type: 'Patient', identifier: patientIdentifier(entity.patientId, entity.issuer) },
        type: { system: ENTITY_TYPE_SYSTEM, code: '1', display: 'Person' },
        role: { system: OBJECT_ROLE_SYSTEM, code: '1', display: 'Patient' },
      };
    case 'study': {
      const detail = [
        ...(entity.seriesUids ?? []).map((uid) => ({ type: 'SeriesInstanceUID', valueString: uid })),
        ...(entity.sopInstanceUids ?? []).map((uid) => ({ type: 'SOPInstanceUID', valueString: uid })),
        ...(entity.instanceCount === undefined ? [] : [{ type: 'NumberOfInstances', valueString: String(entity.instanceCount) }]),
      ];
      return {
        what: { type: 'ImagingStudy', identifier: { system: DICOM_UID_SYSTEM, value: `urn:oid:${entity.studyUid}` } },
        type: { system: ENTITY_TYPE_SYSTEM, code: '2', display: 'System Object' },
        role: { system: OBJECT_ROLE_SYSTEM, code: '3', display: 'Report' },
        detail: detail.length > 0 ? detail : undefined,
      };
    }
    case 'worklist-item':
      return {
        what: { identifier: { system: RFC3986_SYSTEM, value: `urn:uuid:${entity.itemId}` } },
        type: { system: ENTITY_TYPE_SYSTEM, code: '2', display: 'System Object' },
        role: { system: OBJECT_ROLE_SYSTEM, code: '20', display: 'Job' },
        name: 'worklist item',
      };
    case 'query':
      return {
        type: { system: ENTITY_TYPE_SYSTEM, code: '2', display: 'System Object' },
        role: { system: OBJECT_ROLE_SYSTEM, code: '24', display: 'Query' },
        query: Buffer.from(entity.query, 'utf8').toString('base64'),
        detail: entity.level ? [{ type: 'level', valueString: entity.level }] : undefined,
      };
    case 'record':
      return {
        what: { identifier: { system: `urn:astreinte:record:${encodeURIComponent(entity.recordType)}`, value: entity.id } },
        type: { system: ENTITY_TYPE_SYSTEM, code: '2', display: 'System Object' },
        role: { system: OBJECT_ROLE_SYSTEM, code: '4', display: 'Domain Resource' },
        name: entity.recordType,
        description: entity.description,
      };
  }
}

/** An issuer that is an OID becomes the identifier system; any other issuer (a local IPP domain) its assigner. */
function patientIdentifier(patientId: string, issuer: string | undefined): FhirIdentifier {
  const oid = issuer?.replace(/^urn:oid:/i, '');
  if (oid !== undefined && /^[0-2](\.(0|[1-9]\d*))+$/.test(oid)) return { system: `urn:oid:${oid}`, value: patientId };
  return issuer ? { value: patientId, assigner: { display: issuer } } : { value: patientId };
}

/** The French national id of a practitioner (8 + RPPS) or establishment (1 + FINESS). */
function nationalId(prefix: string, id: string, length: number): string {
  return id.length === length ? `${prefix}${id}` : id;
}

function dropUndefined<T extends object>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
