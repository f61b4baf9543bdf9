/**
 * Who may call a route: for each role, the answer expected for the caller's relation to the resource the
 * request is about:
 *
 *   sender       own-site / other-site            (the study's sending site is the token's FINESS, or not)
 *   reader       routed / not-routed              (a worklist item of it is assigned, offered or in a pool of theirs)
 *   expert       routed / not-routed              (same, plus the expertise poles of their qualifications)
 *   coordinator  own-territory / other-territory  (the item's or study's territory is the token's)
 *   analyst, admin   any
 *
 * Answers: `allow` (2xx; for searches and lists: the resource is listed), `forbidden` (403: the role may not
 * do this at all), `hidden` (404 worded exactly as for a resource that does not exist; for searches and lists:
 * the resource is left out), `refused` (STOW-RS's own refusal: 409 with every instance in the
 * FailedSOPSequence, FailureReason 0x0124 Not Authorized). A request without a valid token gets 401 on every
 * route but the public ones (the health checks).
 *
 * A role whose every relation is `forbidden` is turned away by the route's role gate before its handler runs
 * (`refusedRoles`); the other answers depend on the resource and are decided by the handlers and access scopes.
 */
import { ROLES, type Role } from '../../core/identity/roles.ts';

export type Access = 'allow' | 'forbidden' | 'hidden' | 'refused';
export type Expectation = Access | 'unauthenticated';

export type SiteRelation = 'own-site' | 'other-site';
export type PoolRelation = 'routed' | 'not-routed';
export type TerritoryRelation = 'own-territory' | 'other-territory';
export type Relation = SiteRelation | PoolRelation | TerritoryRelation | 'any';

/** The relations that decide each role's access. */
export const RELATIONS_OF_ROLE: { readonly [R in Role]: readonly Relation[] } = {
  sender: ['own-site', 'other-site'],
  reader: ['routed', 'not-routed'],
  expert: ['routed', 'not-routed'],
  coordinator: ['own-territory', 'other-territory'],
  analyst: ['any'],
  admin: ['any'],
};

export interface RoleAccess {
  sender: Record<SiteRelation, Access>;
  reader: Record<PoolRelation, Access>;
  expert: Record<PoolRelation, Access>;
  coordinator: Record<TerritoryRelation, Access>;
  analyst: Access;
  admin: Access;
  /** The words of the role gate's 403 to a refused role, when "this needs the role ..." would not say enough. */
  refusal?: (role: Role) => string;
}

/** `public`: answered without a token (health checks only). */
export type RouteAccess = 'public' | RoleAccess;

export type Caller = { authenticated: false } | { authenticated: true; role: Role; relation: Relation };

/** The answer a caller should get from a route, per its access. */
export function expectedAccess(route: { access: RouteAccess }, caller: Caller): Expectation {
  if (route.access === 'public') return 'allow';
  if (!caller.authenticated) return 'unauthenticated';
  const { role, relation } = caller;
  if (!RELATIONS_OF_ROLE[role].includes(relation)) {
    throw new Error(`The relation ${relation} does not apply to the role ${role}; use one of ${RELATIONS_OF_ROLE[role].join(', ')}.`);
  }
  return accessOf(route.access, role, relation);
}

function accessOf(access: RoleAccess, role: Role, relation: Relation): Access {
  switch (role) {
    case 'sender':
      return access.sender[relation as SiteRelation];
    case 'reader':
    case 'expert':
      return access[role][relation as PoolRelation];
    case 'coordinator':
      return access.coordinator[relation as TerritoryRelation];
    case 'analyst':
    case 'admin':
      return access[role];
  }
}

/** The roles that may never use the route, whatever the resource: its role gate answers them 403. */
export function refusedRoles(access: RoleAccess): Role[] {
  return ROLES.filter((role) => RELATIONS_OF_ROLE[role].every((relation) => accessOf(access, role, relation) === 'forbidden'));
}

/** The roles the route lets do what it does, for some resource: those the gate's 403 names. */
export function allowedRoles(access: RoleAccess): Role[] {
  return ROLES.filter((role) => RELATIONS_OF_ROLE[role].some((relation) => accessOf(access, role, relation) === 'allow'));
}
