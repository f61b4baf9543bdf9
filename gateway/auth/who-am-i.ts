/**
 * `GET /api/me`: who the caller's token stands for, as this gateway understood it (the same claims mapping as
 * every other route), with the name the regional configuration gives them. The web app asks it right after an
 * OpenID Connect sign-in: it checks that the provider's access token is one the gateway accepts (audience,
 * issuer, roles, RPPS) before the worklist opens, and it gives the header its name and the report panel the RPPS.
 */
import type { RequestHandler } from 'express';
import type { RegionConfig } from '../../config/region/region-config.ts';
import type { Principal, Role } from '../../core/identity/roles.ts';
import { principalOf } from './authenticate.ts';

export interface WhoAmI {
  role: Role;
  userId: string;
  rpps?: string;
  site?: string;
  territory?: string;
  /** The reader's, site's or coordination's name in the regional configuration; else the user id. */
  name: string;
}

export function whoAmIHandler(config: RegionConfig): RequestHandler {
  return (_req, res) => {
    res.json(whoAmI(principalOf(res), config));
  };
}

export function whoAmI(principal: Principal, config: RegionConfig): WhoAmI {
  const { role, userId, rpps, site, territory } = principal;
  return { role, userId, rpps, site, territory, name: nameOf(principal, config) };
}

function nameOf(principal: Principal, config: RegionConfig): string {
  const reader = principal.rpps === undefined ? undefined : config.readerByRpps.get(principal.rpps);
  if (reader && (principal.role === 'reader' || principal.role === 'expert')) return reader.name;
  if (principal.role === 'coordinator' && principal.territory !== undefined) {
    return `Coordination ${config.territoryById.get(principal.territory)?.name ?? principal.territory}`;
  }
  if (principal.role === 'sender' && principal.site !== undefined) return config.siteByFiness.get(principal.site)?.name ?? principal.site;
  return principal.userId;
}
