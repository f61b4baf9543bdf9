/**
 * What a WADO-RS URL names (a study, a series or an instance), checked, and the instances of it the caller may
 * see: shared by the retrieve routes (instances, metadata, frames, bulk data) and the rendered ones.
 */
import type { Request } from 'express';
import { isValidUid } from '../../../core/dicom/uid.ts';
import type { AccessScope, DicomIndex, StoredInstance } from '../../../storage/index/dicom-index.ts';
import { BadRequest, NotFound } from '../../http/problem.ts';

export interface Target {
  studyInstanceUID: string;
  seriesInstanceUID?: string;
  sopInstanceUID?: string;
}

/** The UIDs of the URL's path, each a valid DICOM UID (400 naming the one that is not). */
export function targetOf(req: Request): Target {
  const target: Target = {
    studyInstanceUID: req.params.study as string,
    seriesInstanceUID: req.params.series as string | undefined,
    sopInstanceUID: req.params.instance as string | undefined,
  };
  for (const [name, uid] of Object.entries(target)) {
    if (uid !== undefined && !isValidUid(uid)) {
      throw new BadRequest(`The ${name.replace('InstanceUID', '')} UID in the URL is not a valid DICOM UID: ${JSON.stringify(String(uid).slice(0, 80))}`);
    }
  }
  return target;
}

/** The same words whether the resource does not exist or the caller may not see it. */
export function targetNotFound(target: Target): NotFound {
  if (target.sopInstanceUID) return new NotFound(`Instance ${target.sopInstanceUID} was not found in this series, or you may not see it.`);
  if (target.seriesInstanceUID) return new NotFound(`Series ${target.seriesInstanceUID} was not found in this study, or you may not see it.`);
  return new NotFound(`Study ${target.studyInstanceUID} was not found, or you may not see it.`);
}

/** The target's instances within the caller's scope; 404 when there are none. */
export async function findTargetInstances(index: DicomIndex, scope: AccessScope, target: Target): Promise<StoredInstance[]> {
  const instances = await index.findInstances(scope, target);
  if (instances.length === 0) throw targetNotFound(target);
  return instances;
}
