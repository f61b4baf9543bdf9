/**
 * Real DICOM studies for the routing tests and benchmark: Part 10 files from the test-data generator (head CT,
 * chest radiograph) or written with its Part 10 writer (cardiac CT, ultrasound, a described or requested
 * procedure), read by the gateway's reader and indexed by the PostgreSQL index, exactly as STOW does. The
 * owning site is the sender's FINESS, as for a STOW request from that site.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readInstanceFile } from '../../core/dicom/read-instance-file.ts';
import type { DicomIndex } from '../../storage/index/dicom-index.ts';
import {
  CT_IMAGE_STORAGE,
  deterministicUid,
  generateChestXray,
  generateCtSeries,
  INS_ISSUER_OID,
  patientFor,
  SITES,
  US_IMAGE_STORAGE,
  type PatientProfile,
} from '../../test-data/generate-study.ts';
import { writePart10, type Dataset } from '../../test-data/part10-writer.ts';

export type SyntheticStudyKind = 'ct-head' | 'chest-xray' | 'cardiac-ct' | 'ultrasound' | 'described-ct';

export interface SyntheticStudy {
  kind: SyntheticStudyKind;
  /** FINESS of the sending site: the study's owner (null: an administrator's import, owned by no site). */
  site: string | null;
  /** Makes UIDs and the patient unique and deterministic. */
  seed: string;
  patient?: PatientProfile;
  /** Issuer of the local Patient ID (default: the generator's site issuer). */
  issuerOfPatientID?: string;
  /** For described-ct: Study Description (e.g. 'TDM CEREBRALE - ALERTE THROMBOLYSE'). */
  studyDescription?: string;
  /** Requested Procedure Description, in the Request Attributes Sequence. */
  requestedProcedure?: string;
  bodyPart?: string;
  /** Instances (CT kinds), default 2. */
  instances?: number;
}

/** The study's Part 10 files (tiny images: routing reads attributes only). */
export function syntheticStudyFiles(study: SyntheticStudy): { studyInstanceUID: string; files: Buffer[] } {
  const studyInstanceUID = deterministicUid(study.seed, 'study');
  const patient = study.patient ?? patientFor(study.seed);
  switch (study.kind) {
    case 'ct-head':
      return {
        studyInstanceUID,
        files: [
          ...generateCtSeries({ kind: 'ct-head', slices: study.instances ?? 2, rows: 16, columns: 16, seed: study.seed, site: SITES['saint-girons'], patient, studyInstanceUID }),
        ],
      };
    case 'chest-xray':
      return {
        studyInstanceUID,
        files: [generateChestXray({ rows: 16, columns: 16, seed: study.seed, site: SITES.seysses, patient, studyInstanceUID })],
      };
    case 'cardiac-ct':
      return written(study, studyInstanceUID, patient, {
        modality: 'CT',
        sopClassUID: CT_IMAGE_STORAGE,
        studyDescription: study.studyDescription ?? 'COROSCANNER',
        bodyPart: study.bodyPart ?? 'HEART',
      });
    case 'ultrasound':
      return written(study, studyInstanceUID, patient, {
        modality: 'US',
        sopClassUID: US_IMAGE_STORAGE,
        studyDescription: study.studyDescription ?? 'ÉCHOGRAPHIE ABDOMINALE',
        bodyPart: study.bodyPart ?? 'ABDOMEN',
      });
    case 'described-ct':
      return written(study, studyInstanceUID, patient, {
        modality: 'CT',
        sopClassUID: CT_IMAGE_STORAGE,
        studyDescription: study.studyDescription ?? 'TDM',
        bodyPart: study.bodyPart,
      });
  }
}

interface Written {
  modality: string;
  sopClassUID: string;
  studyDescription: string;
  bodyPart?: string;
}

function written(study: SyntheticStudy, studyInstanceUID: string, patient: PatientProfile, spec: Written) {
  const seriesUID = deterministicUid(study.seed, 'series');
  const pixels = Buffer.alloc(16 * 16 * 2);
  const files: Buffer[] = [];
  for (let i = 0; i < (study.instances ?? 2); i++) {
    const dataset: Dataset = {
      SpecificCharacterSet: 'ISO_IR 192',
      SOPClassUID: spec.sopClassUID,
      SOPInstanceUID: deterministicUid(study.seed, `instance-${i}`),
      StudyDate: '20261115',
      StudyTime: '021000',
      AccessionNumber: `AC${createHash('sha256').update(study.seed).digest('hex').slice(0, 10)}`,
      Modality: spec.modality,
      StudyDescription: spec.studyDescription,
      BodyPartExamined: spec.bodyPart,
      PatientName: patient.name,
      PatientID: patient.id,
      IssuerOfPatientID: study.issuerOfPatientID ?? 'CHSG',
      PatientBirthDate: patient.birthDate,
      PatientSex: patient.sex,
      OtherPatientIDsSequence: patient.ins ? [{ PatientID: patient.ins, IssuerOfPatientID: INS_ISSUER_OID, TypeOfPatientID: 'TEXT' }] : undefined,
      RequestAttributesSequence: study.requestedProcedure
        ? [{ RequestedProcedureDescription: study.requestedProcedure, RequestedProcedureID: 'RP1' }]
        : undefined,
      StudyInstanceUID: studyInstanceUID,
      SeriesInstanceUID: seriesUID,
      SeriesNumber: 1,
      InstanceNumber: i + 1,
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: 16,
      Columns: 16,
      BitsAllocated: 16,
      BitsStored: 12,
      HighBit: 11,
      PixelRepresentation: 0,
      PixelData: { vr: 'OW', value: pixels },
    };
    files.push(writePart10(dataset));
  }
  return { studyInstanceUID, files };
}

/** Writes, reads and indexes every file of the study as STOW from `study.site` would; returns its UID. */
export async function indexSyntheticStudy(index: DicomIndex, study: SyntheticStudy, receivedAt = new Date()): Promise<string> {
  const { studyInstanceUID, files } = syntheticStudyFiles(study);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-study-'));
  try {
    for (const [n, bytes] of files.entries()) {
      const file = path.join(dir, `${n}.dcm`);
      await writeFile(file, bytes);
      const parsed = await readInstanceFile(file);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const outcome = await index.indexInstance({
        parsed,
        objectKey: `synthetic/${parsed.sopInstanceUID}/${sha256.slice(0, 32)}.dcm`,
        size: bytes.length,
        sha256,
        site: study.site,
        receivedAt,
      });
      if (outcome.kind !== 'stored' && outcome.kind !== 'identical') {
        throw new Error(`synthetic study ${study.seed}: instance ${n} not indexed (${outcome.kind})`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return studyInstanceUID;
}
