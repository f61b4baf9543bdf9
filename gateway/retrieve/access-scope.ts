import type { Response } from 'express';
import { principalOf } from '../auth/authenticate.ts';
import { Forbidden } from '../http/problem.ts';
import type { AccessScope } from '../../storage/index/dicom-index.ts';

/**
 * What part of the archive the caller may read: a sending site only its own studies; readers and
 * administrators the whole archive (routing narrows readers to their worklists in a later step).
 */
export function accessScopeOf(res: Response): AccessScope {
  const principal = principalOf(res);
  switch (principal.role) {
    case 'sender':
      return { site: principal.site ?? '__no_site__' };
    case 'reader':
    case 'expert':
    case 'admin':
      return { site: null };
    default:
      throw new Forbidden('Your role gives no access to images or their metadata.');
  }
}
