import { createHash } from 'node:crypto';
import {
  BULKDATA_ROOT_PLACEHOLDER,
  type DicomJsonDataset,
  type ParsedInstance,
  type PersonIdentity,
} from '../../../core/dicom/parsed-instance.ts';
import type { InstanceToIndex } from '../../../storage/index/dicom-index.ts';

/** What a test says about an instance; everything else gets a plausible default. */
export interface InstanceSpec {
  studyUID: string;
  seriesUID: string;
  sopUID: string;
  sopClassUID?: string;
  patientId?: string;
  issuer?: string;
  patientName?: string;
  birthDate?: string;
  sex?: string;
  otherIds?: PersonIdentity[];
  studyDate?: string;
  studyTime?: string;
  accession?: string;
  studyDescription?: string;
  referring?: string;
  institution?: string;
  studyId?: string;
  modality?: string;
  seriesNumber?: number;
  seriesDescription?: string;
  bodyPart?: string;
  instanceNumber?: number;
  rows?: number;
  columns?: number;
  numberOfFrames?: number;
  /** More attributes for the stored metadata (e.g. SliceThickness). */
  extra?: DicomJsonDataset;
}

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

/** A ParsedInstance built by hand, its metadata consistent with its fields, as the parser would give it. */
export function buildParsedInstance(spec: InstanceSpec): ParsedInstance {
  const frames = spec.numberOfFrames ?? 1;
  const rows = spec.rows ?? 512;
  const columns = spec.columns ?? 512;
  const frameBytes = rows * columns * 2;
  const metadata: DicomJsonDataset = {};
  const put = (tag: string, vr: string, value: unknown) => {
    metadata[tag] = value === undefined ? { vr } : { vr, Value: [value] };
  };
  put('00080005', 'CS', 'ISO_IR 192');
  put('00080016', 'UI', spec.sopClassUID ?? CT_IMAGE_STORAGE);
  put('00080018', 'UI', spec.sopUID);
  put('00080020', 'DA', spec.studyDate);
  put('00080030', 'TM', spec.studyTime);
  put('00080050', 'SH', spec.accession);
  put('00080060', 'CS', spec.modality ?? 'CT');
  put('00080080', 'LO', spec.institution);
  put('00080090', 'PN', spec.referring === undefined ? undefined : { Alphabetic: spec.referring });
  put('00081030', 'LO', spec.studyDescription);
  put('0008103E', 'LO', spec.seriesDescription);
  put('00100010', 'PN', spec.patientName === undefined ? undefined : { Alphabetic: spec.patientName });
  put('00100020', 'LO', spec.patientId);
  put('00100021', 'LO', spec.issuer);
  put('00100030', 'DA', spec.birthDate);
  put('00100040', 'CS', spec.sex);
  if (spec.otherIds?.length) {
    metadata['00101002'] = {
      vr: 'SQ',
      Value: spec.otherIds.map((o) => ({
        '00100020': { vr: 'LO', Value: [o.id] },
        '00100021': { vr: 'LO', Value: [o.issuer] },
      })),
    };
  }
  put('00180015', 'CS', spec.bodyPart);
  put('0020000D', 'UI', spec.studyUID);
  put('0020000E', 'UI', spec.seriesUID);
  put('00200010', 'SH', spec.studyId);
  put('00200011', 'IS', spec.seriesNumber);
  put('00200013', 'IS', spec.instanceNumber);
  put('00280008', 'IS', frames);
  put('00280010', 'US', rows);
  put('00280011', 'US', columns);
  put('00280100', 'US', 16);
  metadata['7FE00010'] = {
    vr: 'OW',
    BulkDataURI: `${BULKDATA_ROOT_PLACEHOLDER}/studies/${spec.studyUID}/series/${spec.seriesUID}/instances/${spec.sopUID}/bulkdata/7FE00010`,
  };
  Object.assign(metadata, spec.extra);
  return {
    transferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    sopClassUID: spec.sopClassUID ?? CT_IMAGE_STORAGE,
    sopInstanceUID: spec.sopUID,
    studyInstanceUID: spec.studyUID,
    seriesInstanceUID: spec.seriesUID,
    specificCharacterSet: 'ISO_IR 192',
    patient: {
      id: spec.patientId,
      issuer: spec.issuer,
      name: spec.patientName,
      birthDate: spec.birthDate,
      sex: spec.sex,
      otherIds: spec.otherIds ?? [],
    },
    study: {
      date: spec.studyDate,
      time: spec.studyTime,
      accessionNumber: spec.accession,
      description: spec.studyDescription,
      referringPhysicianName: spec.referring,
      institutionName: spec.institution,
      studyId: spec.studyId,
    },
    series: {
      modality: spec.modality ?? 'CT',
      number: spec.seriesNumber,
      description: spec.seriesDescription,
      bodyPartExamined: spec.bodyPart,
    },
    instance: { number: spec.instanceNumber, rows, columns, numberOfFrames: frames },
    frames: Array.from({ length: frames }, (_, i) => [{ offset: 1024 + i * frameBytes, length: frameBytes }]),
    bulkData: [{ path: '7FE00010', vr: 'OW', span: { offset: 1024, length: frames * frameBytes } }],
    metadata,
  };
}

/** The index's input for a parsed instance; `content` stands for the file's bytes (sha256 derives from it). */
export function toIndex(
  parsed: ParsedInstance,
  options: { site?: string | null; content?: string } = {},
): InstanceToIndex {
  const sha256 = createHash('sha256')
    .update(options.content ?? parsed.sopInstanceUID)
    .digest('hex');
  return {
    parsed,
    objectKey: `studies/${parsed.studyInstanceUID}/series/${parsed.seriesInstanceUID}/instances/${parsed.sopInstanceUID}/${sha256.slice(0, 32)}.dcm`,
    size: 1024 + parsed.frames.reduce((sum, f) => sum + f[0].length, 0),
    sha256,
    site: options.site ?? null,
    receivedAt: new Date('2024-03-01T10:00:00Z'),
  };
}
