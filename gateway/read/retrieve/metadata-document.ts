import { BULKDATA_ROOT_PLACEHOLDER } from '../../../core/dicom/parsed-instance.ts';

const PLACEHOLDER = Buffer.from(BULKDATA_ROOT_PLACEHOLDER, 'utf8');

/**
 * The WADO-RS metadata answer, `[` + the instances' stored DICOM JSON texts joined by `,` + `]`, with the
 * BulkDataURI placeholders replaced by the DICOMweb root, built as bytes: each text is encoded straight into
 * one buffer and the placeholders are found with Buffer.indexOf. Joining the texts into one string and
 * replacing in it (then encoding it again for the socket) cost 20 ms for a 600-instance CT series (2 MB).
 */
export function metadataDocument(texts: readonly string[], root: string): Buffer {
  let size = 2 + Math.max(0, texts.length - 1);
  for (const text of texts) size += Buffer.byteLength(text, 'utf8');
  const joined = Buffer.allocUnsafe(size);
  let at = joined.write('[', 0, 'latin1');
  texts.forEach((text, index) => {
    if (index > 0) at += joined.write(',', at, 'latin1');
    at += joined.write(text, at, 'utf8');
  });
  joined.write(']', at, 'latin1');
  return replacePlaceholders(joined, Buffer.from(root, 'utf8'));
}

function replacePlaceholders(document: Buffer, root: Buffer): Buffer {
  const pieces: Buffer[] = [];
  let from = 0;
  for (let found = document.indexOf(PLACEHOLDER); found !== -1; found = document.indexOf(PLACEHOLDER, from)) {
    pieces.push(document.subarray(from, found), root);
    from = found + PLACEHOLDER.length;
  }
  if (pieces.length === 0) return document;
  pieces.push(document.subarray(from));
  return Buffer.concat(pieces);
}
