/** The transfer syntaxes ingest accepts, and how their pixel data is laid out. */

export type PixelEncoding =
  | 'native'
  | 'jpeg'
  | 'jpeg-ls'
  | 'jpeg2000'
  | 'htj2k'
  | 'jpeg-xl'
  | 'rle'
  | 'video'
  | 'encapsulated-uncompressed';

export interface TransferSyntax {
  uid: string;
  name: string;
  explicitVr: boolean;
  littleEndian: boolean;
  /** Pixel Data is a sequence of fragments (PS3.5 A.4) rather than a plain value. */
  encapsulated: boolean;
  pixelEncoding: PixelEncoding;
  /** The data set after the File Meta Information is a raw deflate stream (PS3.5 A.5): parsed inflated. */
  deflated?: true;
}

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';

function native(uid: string, name: string, explicitVr: boolean, littleEndian: boolean): TransferSyntax {
  return { uid, name, explicitVr, littleEndian, encapsulated: false, pixelEncoding: 'native' };
}

function encapsulated(uid: string, name: string, pixelEncoding: PixelEncoding): TransferSyntax {
  return { uid, name, explicitVr: true, littleEndian: true, encapsulated: true, pixelEncoding };
}

const video = (uid: string, name: string) => encapsulated(uid, name, 'video');

const SUPPORTED: TransferSyntax[] = [
  native(IMPLICIT_VR_LITTLE_ENDIAN, 'Implicit VR Little Endian', false, true),
  native(EXPLICIT_VR_LITTLE_ENDIAN, 'Explicit VR Little Endian', true, true),
  native(EXPLICIT_VR_BIG_ENDIAN, 'Explicit VR Big Endian (retired)', true, false),
  { ...native(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, 'Deflated Explicit VR Little Endian', true, true), deflated: true },
  encapsulated('1.2.840.10008.1.2.1.98', 'Encapsulated Uncompressed Explicit VR Little Endian', 'encapsulated-uncompressed'),
  encapsulated('1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)', 'jpeg'),
  encapsulated('1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)', 'jpeg'),
  encapsulated('1.2.840.10008.1.2.4.57', 'JPEG Lossless (Process 14)', 'jpeg'),
  encapsulated('1.2.840.10008.1.2.4.70', 'JPEG Lossless SV1 (Process 14, Selection Value 1)', 'jpeg'),
  encapsulated('1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless', 'jpeg-ls'),
  encapsulated('1.2.840.10008.1.2.4.81', 'JPEG-LS Near-Lossless', 'jpeg-ls'),
  encapsulated('1.2.840.10008.1.2.4.90', 'JPEG 2000 Lossless', 'jpeg2000'),
  encapsulated('1.2.840.10008.1.2.4.91', 'JPEG 2000', 'jpeg2000'),
  encapsulated('1.2.840.10008.1.2.4.92', 'JPEG 2000 Part 2 Multi-component Lossless', 'jpeg2000'),
  encapsulated('1.2.840.10008.1.2.4.93', 'JPEG 2000 Part 2 Multi-component', 'jpeg2000'),
  encapsulated('1.2.840.10008.1.2.4.201', 'High-Throughput JPEG 2000 Lossless', 'htj2k'),
  encapsulated('1.2.840.10008.1.2.4.202', 'High-Throughput JPEG 2000 with RPCL Options Lossless', 'htj2k'),
  encapsulated('1.2.840.10008.1.2.4.203', 'High-Throughput JPEG 2000', 'htj2k'),
  encapsulated('1.2.840.10008.1.2.4.110', 'JPEG XL Lossless', 'jpeg-xl'),
  encapsulated('1.2.840.10008.1.2.4.111', 'JPEG XL JPEG Recompression', 'jpeg-xl'),
  encapsulated('1.2.840.10008.1.2.4.112', 'JPEG XL', 'jpeg-xl'),
  encapsulated('1.2.840.10008.1.2.5', 'RLE Lossless', 'rle'),
  video('1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile / Main Level'),
  video('1.2.840.10008.1.2.4.100.1', 'Fragmentable MPEG2 Main Profile / Main Level'),
  video('1.2.840.10008.1.2.4.101', 'MPEG2 Main Profile / High Level'),
  video('1.2.840.10008.1.2.4.101.1', 'Fragmentable MPEG2 Main Profile / High Level'),
  video('1.2.840.10008.1.2.4.102', 'MPEG-4 AVC/H.264 High Profile / Level 4.1'),
  video('1.2.840.10008.1.2.4.102.1', 'Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1'),
  video('1.2.840.10008.1.2.4.103', 'MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1'),
  video('1.2.840.10008.1.2.4.103.1', 'Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1'),
  video('1.2.840.10008.1.2.4.104', 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video'),
  video('1.2.840.10008.1.2.4.104.1', 'Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video'),
  video('1.2.840.10008.1.2.4.105', 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video'),
  video('1.2.840.10008.1.2.4.105.1', 'Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video'),
  video('1.2.840.10008.1.2.4.106', 'MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2'),
  video('1.2.840.10008.1.2.4.106.1', 'Fragmentable MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2'),
  video('1.2.840.10008.1.2.4.107', 'HEVC/H.265 Main Profile / Level 5.1'),
  video('1.2.840.10008.1.2.4.108', 'HEVC/H.265 Main 10 Profile / Level 5.1'),
];

const BY_UID = new Map(SUPPORTED.map((ts) => [ts.uid, ts]));

/** Known but refused, with the reason given to the sender. */
const REFUSED = new Map<string, string>([
  ['1.2.840.10008.1.2.4.94', 'JPIP Referenced is not supported (the pixel data is not in the file)'],
  ['1.2.840.10008.1.2.4.95', 'JPIP Referenced Deflate is not supported (the pixel data is not in the file)'],
]);

export function transferSyntax(uid: string): TransferSyntax | undefined {
  return BY_UID.get(uid);
}

/** Why a transfer syntax is refused, for a STOW failure message. */
export function unsupportedTransferSyntaxMessage(uid: string): string {
  const reason = REFUSED.get(uid) ?? 'this transfer syntax is not supported';
  // The UID comes from the file: at most a UID's length of it is repeated (it ends up in a Warning header).
  const shown = uid.length > 64 ? `${uid.slice(0, 64)}...` : uid;
  return `transfer syntax ${shown}: ${reason}. Supported: ${supportedTransferSyntaxSummary()}`;
}

export function supportedTransferSyntaxSummary(): string {
  return (
    'Implicit VR Little Endian, Explicit VR Little Endian, Deflated Explicit VR Little Endian, Explicit VR Big Endian (retired), ' +
    'JPEG Baseline, JPEG Extended, JPEG Lossless, JPEG-LS, JPEG 2000 (incl. Part 2), HTJ2K, JPEG XL, RLE Lossless, ' +
    'MPEG-2, MPEG-4 AVC/H.264 and HEVC/H.265 video, Encapsulated Uncompressed'
  );
}
