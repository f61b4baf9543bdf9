import { WarningReason } from '../../../core/dicom/dicom-status.ts';
import type { InstanceOutcome } from '../stow-outcome.ts';

export interface CStoreStatus {
  status: number;
  /** Error Comment (0000,0902): LO, at most 64 characters. */
  comment?: string;
}

export const STATUS_SUCCESS = 0x0000;

/**
 * The C-STORE status (PS3.4 B.2.3, PS3.7 C) for what the shared ingest path decided: a refusal's FailureReason is
 * already a DIMSE status (0xA700, 0xA900, 0xC000, 0x0110, 0x0111, 0x0124); an instance stored with a warning, as
 * STOW-RS answers 202 for it, gets 0xB000 (coercion: it is indexed under its data set's UIDs).
 */
export function cStoreStatusOf(outcome: InstanceOutcome): CStoreStatus {
  if (outcome.kind === 'failed') return { status: outcome.failureReason, comment: errorComment(outcome.message) };
  if (outcome.warnings.length > 0) return { status: WarningReason.CoercionOfDataElements, comment: errorComment(outcome.warnings[0]) };
  return { status: STATUS_SUCCESS };
}

/** LO: printable ASCII without backslash, 64 characters. */
export function errorComment(message: string): string {
  const ascii = message
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[^\x20-\x5b\x5d-\x7e]/g, '?');
  return ascii.length > 64 ? `${ascii.slice(0, 61)}...` : ascii;
}
