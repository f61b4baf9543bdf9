import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, transferSyntax } from '../../../core/dicom/transfer-syntax.ts';

export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';

/** PS3.8 9.3.3.2 presentation context results. */
export const PresentationContextResult = {
  Accept: 0,
  AbstractSyntaxNotSupported: 3,
  TransferSyntaxesNotSupported: 4,
} as const;

export type PresentationContextAnswer =
  | { result: typeof PresentationContextResult.Accept; transferSyntaxUid: string }
  | { result: typeof PresentationContextResult.AbstractSyntaxNotSupported | typeof PresentationContextResult.TransferSyntaxesNotSupported };

/**
 * Storage SOP classes (PS3.4 B.5): the standard's storage tree 1.2.840.10008.5.1.4.1.1, plus the few storage classes
 * defined outside it (RT second generation, HL7 CDA / structured display, ophthalmic and implant templates are not
 * stored images and are not accepted).
 */
function isStorageSopClass(uid: string): boolean {
  return uid.startsWith('1.2.840.10008.5.1.4.1.1.') || uid.startsWith('1.2.840.10008.5.1.4.34.');
}

/**
 * Verification with Implicit or Explicit VR Little Endian; any storage SOP class in any transfer syntax the archive
 * stores and serves (core/dicom/transfer-syntax.ts), taking the first the requestor proposes (Implicit VR only when
 * nothing else is proposed), so instances are kept as the modality encoded them (no transcoding). Anything else is refused per context, not per association.
 */
export function answerPresentationContext(abstractSyntaxUid: string, proposedTransferSyntaxes: string[]): PresentationContextAnswer {
  const proposed = proposedTransferSyntaxes.map((uid) => uid.replace(/\0+$/, '').trim());
  if (abstractSyntaxUid === VERIFICATION_SOP_CLASS) {
    const chosen = proposed.find((uid) => uid === EXPLICIT_VR_LITTLE_ENDIAN || uid === IMPLICIT_VR_LITTLE_ENDIAN);
    return chosen ? { result: PresentationContextResult.Accept, transferSyntaxUid: chosen } : { result: PresentationContextResult.TransferSyntaxesNotSupported };
  }
  if (!isStorageSopClass(abstractSyntaxUid)) return { result: PresentationContextResult.AbstractSyntaxNotSupported };
  // Implicit VR last: with a choice, Explicit VR keeps each attribute's VR in the stored file.
  const supported = proposed.filter((uid) => transferSyntax(uid) !== undefined);
  const chosen = supported.find((uid) => uid !== IMPLICIT_VR_LITTLE_ENDIAN) ?? supported[0];
  return chosen ? { result: PresentationContextResult.Accept, transferSyntaxUid: chosen } : { result: PresentationContextResult.TransferSyntaxesNotSupported };
}
