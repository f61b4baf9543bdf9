import type { Response } from 'express';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import type { AccessScope } from '../../../storage/index/dicom-index.ts';
import { principalOf } from '../../auth/authenticate.ts';
import { Forbidden } from '../../http/problem.ts';
import { poolsOf, poolsSeeCompletedSince, rppsOf, type ViewerContext } from '../worklist/worklist-viewer.ts';

export type AccessScopeResolver = (res: Response) => AccessScope;

export interface AccessPolicy extends ViewerContext {
  regionConfig: RegionConfig;
  /** Administrators see patient data only when this is set (ASTREINTE_ADMIN_PATIENT_ACCESS=true). */
  adminSeesPatientData: boolean;
}

/**
 * What part of the archive the caller may read (images, metadata, searches):
 * - a sender only its own site's studies;
 * - a reader or an expert only the studies of worklist items routed or offered to them or to their pools
 *   (a completed item: its assignee only, or its pools for the configured period; item-visibility.ts);
 * - an administrator everything, when the installation allows administrators to see patient data;
 * - coordinators, analysts (and administrators otherwise): no images, no metadata.
 * Whoever may not see a study gets the same 404 as if it did not exist.
 */
export function createAccessScopes(policy: AccessPolicy): AccessScopeResolver {
  return (res) => {
    const principal = principalOf(res);
    switch (principal.role) {
      case 'sender':
        return { site: principal.site ?? '__no_site__' };
      case 'reader':
      case 'expert': {
        const rpps = rppsOf(principal);
        const pools = [...poolsOf(policy.regionConfig, rpps, principal.role === 'expert')];
        const since = poolsSeeCompletedSince(policy);
        return { site: null, reader: { rpps, pools, ...(since ? { poolsSeeCompletedSince: since } : {}) } };
      }
      case 'admin':
        if (policy.adminSeesPatientData) return { site: null };
        throw new Forbidden('Administrators do not see patient data on this installation (ASTREINTE_ADMIN_PATIENT_ACCESS is off).');
      default:
        throw new Forbidden(`Your role (${principal.role}) gives no access to images or their metadata.`);
    }
  };
}
