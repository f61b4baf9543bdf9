import type { DicomJsonDataset } from '../../core/dicom/parsed-instance.ts';
import type { InstanceOutcome } from './stow-outcome.ts';
import { RETRY_AFTER_SECONDS } from '../http/transient-failure.ts';

export interface StowResponse {
  status: 200 | 202 | 400 | 409 | 503;
  body: DicomJsonDataset;
  /** PS3.18 8.4.3 style warnings: one human-readable line per failed part (bounded). */
  warnings: string[];
  /** Set when a part failed for a transient reason (disk full, database down): the Retry-After header. */
  retryAfterSeconds?: number;
}

const MAX_WARNINGS = 20;

/**
 * PS3.18 10.5.3: 200 when every instance is stored, 202 when some failed, 409 when none could be stored
 * (as Azure's DICOM service and dcm4chee answer), 400 when the request itself could not be read, 503 with
 * Retry-After when none could be stored and a failure was transient (disk full, database down): the sender
 * keeps its instances and sends them again, instead of taking a 409 for a refusal.
 * An identical re-send counts as stored: the archive holds exactly those bytes.
 */
export function buildStowResponse(
  outcomes: InstanceOutcome[],
  dicomwebRoot: string,
  bodyError?: string,
): StowResponse {
  const referenced: DicomJsonDataset[] = [];
  const failedItems: DicomJsonDataset[] = [];
  const warnings: string[] = [];
  const studies = new Set<string>();
  let storedWithWarnings = 0;

  for (const o of outcomes) {
    if (o.kind === 'failed') {
      failedItems.push({
        ...(o.sopClassUID ? { '00081150': ui(o.sopClassUID) } : {}),
        ...(o.sopInstanceUID ? { '00081155': ui(o.sopInstanceUID) } : {}),
        '00081197': { vr: 'US', Value: [o.failureReason] },
      });
      if (warnings.length < MAX_WARNINGS) {
        warnings.push(`part ${o.part} refused (0x${o.failureReason.toString(16).toUpperCase().padStart(4, '0')}): ${o.message}`);
      }
    } else {
      studies.add(o.studyInstanceUID);
      for (const warning of o.warnings) {
        storedWithWarnings += 1;
        if (warnings.length < MAX_WARNINGS) warnings.push(`part ${o.part} stored with a warning: ${warning}`);
      }
      referenced.push({
        '00081150': ui(o.sopClassUID),
        '00081155': ui(o.sopInstanceUID),
        '00081190': {
          vr: 'UR',
          Value: [
            `${dicomwebRoot}/studies/${o.studyInstanceUID}/series/${o.seriesInstanceUID}/instances/${o.sopInstanceUID}`,
          ],
        },
      });
    }
  }
  const failures = outcomes.length - referenced.length;
  if (failures > MAX_WARNINGS) warnings.push(`... and ${failures - MAX_WARNINGS} more refused parts`);
  if (bodyError) warnings.push(bodyError);

  const body: DicomJsonDataset = {};
  if (studies.size === 1) body['00081190'] = { vr: 'UR', Value: [`${dicomwebRoot}/studies/${[...studies][0]}`] };
  if (failedItems.length > 0) body['00081198'] = { vr: 'SQ', Value: failedItems };
  if (referenced.length > 0) body['00081199'] = { vr: 'SQ', Value: referenced };

  let status: StowResponse['status'];
  const retryable = outcomes.some((o) => o.kind === 'failed' && o.retryable);
  if (referenced.length === 0) status = bodyError || failedItems.length === 0 ? 400 : retryable ? 503 : 409;
  else status = failedItems.length > 0 || bodyError || storedWithWarnings > 0 ? 202 : 200;
  return retryable ? { status, body, warnings, retryAfterSeconds: RETRY_AFTER_SECONDS } : { status, body, warnings };
}

function ui(value: string) {
  return { vr: 'UI', Value: [value] };
}
