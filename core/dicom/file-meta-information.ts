/**
 * The 128-byte preamble, `DICM` and the File Meta Information (PS3.10 7.1) written in front of a data set received
 * over the network (C-STORE), which arrives without them. Group 0002 is always Explicit VR Little Endian.
 */

/** Astreinte's Implementation Class UID (a UUID-derived UID, PS3.5 B.2), and its version name (SH, ≤16). */
export const IMPLEMENTATION_CLASS_UID = '2.25.21092137614964739119670582857690885615';
export const IMPLEMENTATION_VERSION_NAME = 'ASTREINTE_01';

export interface FileMetaFields {
  mediaStorageSopClassUid: string;
  mediaStorageSopInstanceUid: string;
  transferSyntaxUid: string;
  /** The calling AE title of the association the instance came in on. */
  sourceAeTitle?: string;
}

export function fileMetaInformation(fields: FileMetaFields): Buffer {
  const elements = [
    element(0x0001, 'OB', Buffer.from([0x00, 0x01])),
    element(0x0002, 'UI', uid(fields.mediaStorageSopClassUid)),
    element(0x0003, 'UI', uid(fields.mediaStorageSopInstanceUid)),
    element(0x0010, 'UI', uid(fields.transferSyntaxUid)),
    element(0x0012, 'UI', uid(IMPLEMENTATION_CLASS_UID)),
    element(0x0013, 'SH', text(IMPLEMENTATION_VERSION_NAME)),
    ...(fields.sourceAeTitle ? [element(0x0016, 'AE', text(fields.sourceAeTitle.trim()))] : []),
  ];
  const groupLength = elements.reduce((sum, e) => sum + e.length, 0);
  const lengthElement = Buffer.alloc(12);
  writeShortHeader(lengthElement, 0x0000, 'UL', 4);
  lengthElement.writeUInt32LE(groupLength, 8);
  const preamble = Buffer.alloc(132);
  preamble.write('DICM', 128, 'latin1');
  return Buffer.concat([preamble, lengthElement, ...elements]);
}

/** UIDs are padded with one NUL to an even length (PS3.5 9.1). */
function uid(value: string): Buffer {
  const bytes = Buffer.from(value, 'latin1');
  return bytes.length % 2 === 0 ? bytes : Buffer.concat([bytes, Buffer.from([0])]);
}

/** Text values are padded with one space. */
function text(value: string): Buffer {
  const bytes = Buffer.from(value, 'latin1');
  return bytes.length % 2 === 0 ? bytes : Buffer.concat([bytes, Buffer.from(' ')]);
}

function element(elementNumber: number, vr: 'OB' | 'UI' | 'SH' | 'AE' | 'UL', value: Buffer): Buffer {
  if (vr === 'OB') {
    const header = Buffer.alloc(12);
    header.writeUInt16LE(0x0002, 0);
    header.writeUInt16LE(elementNumber, 2);
    header.write(vr, 4, 'latin1');
    header.writeUInt32LE(value.length, 8);
    return Buffer.concat([header, value]);
  }
  const header = Buffer.alloc(8);
  writeShortHeader(header, elementNumber, vr, value.length);
  return Buffer.concat([header, value]);
}

function writeShortHeader(target: Buffer, elementNumber: number, vr: string, length: number): void {
  target.writeUInt16LE(0x0002, 0);
  target.writeUInt16LE(elementNumber, 2);
  target.write(vr, 4, 'latin1');
  target.writeUInt16LE(length, 6);
}
