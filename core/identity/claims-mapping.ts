/**
 * Which claims of a verified token say who the caller is, configured at start for the OpenID Connect
 * provider (Pro Santé Connect brokered by Keycloak, for instance). Embedded tokens always use
 * DEFAULT_CLAIMS_MAPPING.
 *
 * A claim path names a top-level claim (`sub`, `https://idp.example/roles`) or, when no claim has that
 * exact name, a dotted path into nested objects (`realm_access.roles`, `resource_access.astreinte.roles`).
 * Arrays met on the way are walked element by element, so `SubjectRefPro.exercices.codeProfession` collects
 * every exercise's profession code.
 */
import { ROLES, isRole, type Role } from './roles.ts';

export interface ClaimsMapping {
  /** Claim naming the user (default `sub`). */
  user: string;
  /**
   * Claims holding role names, tried in order: the first one that yields at least one known role decides
   * (default `role`, then `roles`).
   */
  roles: string[];
  /** Claim holding the RPPS number (default `rpps`); Pro Santé Connect's `8` + RPPS form is accepted. */
  rpps: string;
  /** Claim holding the FINESS number of the establishment (default `site`). */
  site: string;
  /** Claim holding the coordinator's territory (default `territory`). */
  territory: string;
  /**
   * Names the identity provider uses, mapped to Astreinte roles. When absent, only Astreinte's own role names
   * count; when present, ONLY the names it lists count (a generic `admin` role of a shared realm is not ours).
   */
  roleMap?: ReadonlyMap<string, Role>;
  /**
   * When a token carries several known roles: the first role of this list it carries is taken. Absent: such a
   * token is refused (a token stands for exactly one role).
   */
  rolePrecedence?: readonly Role[];
}

export const DEFAULT_CLAIMS_MAPPING: ClaimsMapping = Object.freeze({
  user: 'sub',
  roles: ['role', 'roles'],
  rpps: 'rpps',
  site: 'site',
  territory: 'territory',
});

/** The environment variables of the mapping, as given (undefined when unset). */
export interface ClaimsMappingEnvironment {
  OIDC_CLAIM_USER?: string;
  OIDC_CLAIM_ROLES?: string;
  OIDC_CLAIM_RPPS?: string;
  OIDC_CLAIM_SITE?: string;
  OIDC_CLAIM_TERRITORY?: string;
  OIDC_ROLE_MAP?: string;
  OIDC_ROLE_PRECEDENCE?: string;
}

export const CLAIMS_MAPPING_VARIABLES = [
  'OIDC_CLAIM_USER',
  'OIDC_CLAIM_ROLES',
  'OIDC_CLAIM_RPPS',
  'OIDC_CLAIM_SITE',
  'OIDC_CLAIM_TERRITORY',
  'OIDC_ROLE_MAP',
  'OIDC_ROLE_PRECEDENCE',
] as const satisfies readonly (keyof ClaimsMappingEnvironment)[];

export interface ClaimsMappingProblem {
  variable: keyof ClaimsMappingEnvironment;
  message: string;
}

export type ParsedClaimsMapping = { ok: true; mapping: ClaimsMapping } | { ok: false; problems: ClaimsMappingProblem[] };

const CLAIM_PATH = /^[\x21-\x7e]{1,200}$/;
const ROLE_NAME = /^[^\s=,]{1,200}$/;

/** Reads and checks the mapping variables; every problem names its variable and what to put there. */
export function parseClaimsMapping(values: ClaimsMappingEnvironment): ParsedClaimsMapping {
  const problems: ClaimsMappingProblem[] = [];
  const single = (variable: keyof ClaimsMappingEnvironment, fallback: string): string => {
    const value = values[variable]?.trim();
    if (value === undefined || value === '') return fallback;
    const problem = claimPathProblem(value);
    if (problem) problems.push({ variable, message: problem });
    return value;
  };
  const mapping: ClaimsMapping = {
    user: single('OIDC_CLAIM_USER', DEFAULT_CLAIMS_MAPPING.user),
    roles: parseRoleClaims(values.OIDC_CLAIM_ROLES, problems),
    rpps: single('OIDC_CLAIM_RPPS', DEFAULT_CLAIMS_MAPPING.rpps),
    site: single('OIDC_CLAIM_SITE', DEFAULT_CLAIMS_MAPPING.site),
    territory: single('OIDC_CLAIM_TERRITORY', DEFAULT_CLAIMS_MAPPING.territory),
  };
  const roleMap = parseRoleMap(values.OIDC_ROLE_MAP, problems);
  if (roleMap) mapping.roleMap = roleMap;
  const precedence = parseRolePrecedence(values.OIDC_ROLE_PRECEDENCE, problems);
  if (precedence) mapping.rolePrecedence = precedence;
  return problems.length > 0 ? { ok: false, problems } : { ok: true, mapping };
}

function claimPathProblem(path: string): string | undefined {
  if (!CLAIM_PATH.test(path)) return 'must be a claim name or a dotted path (printable characters, no spaces, at most 200), e.g. realm_access.roles';
  if (path.split('.').some((segment) => segment === '')) return `"${path}" has an empty segment: write claim names separated by single dots, e.g. realm_access.roles`;
  return undefined;
}

function parseRoleClaims(text: string | undefined, problems: ClaimsMappingProblem[]): string[] {
  if (text === undefined || text.trim() === '') return [...DEFAULT_CLAIMS_MAPPING.roles];
  const paths = text.split(',').map((p) => p.trim());
  for (const path of paths) {
    const problem = path === '' ? 'has an empty entry: list claim paths separated by commas, e.g. realm_access.roles' : claimPathProblem(path);
    if (problem) problems.push({ variable: 'OIDC_CLAIM_ROLES', message: problem });
  }
  return paths;
}

/** `radiologue=reader,coordonnateur=coordinator`: provider role name = Astreinte role. */
function parseRoleMap(text: string | undefined, problems: ClaimsMappingProblem[]): Map<string, Role> | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const map = new Map<string, Role>();
  for (const entry of text.split(',')) {
    const [name, role, ...rest] = entry.split('=').map((s) => s.trim());
    const problem = (message: string) => problems.push({ variable: 'OIDC_ROLE_MAP', message });
    if (rest.length > 0 || role === undefined || name === '' || role === '') {
      problem(`"${entry.trim()}" is not name=role: write entries such as radiologue=reader,coordonnateur=coordinator`);
    } else if (!ROLE_NAME.test(name)) {
      problem(`"${name}" is not a role name the identity provider can send (no spaces, "=" or ",")`);
    } else if (!isRole(role)) {
      problem(`"${name}=${role}": ${role} is not an Astreinte role; use one of ${ROLES.join(', ')}`);
    } else if (map.has(name) && map.get(name) !== role) {
      problem(`"${name}" is mapped twice, to ${map.get(name)} and to ${role}: keep one`);
    } else {
      map.set(name, role);
    }
  }
  return map;
}

function parseRolePrecedence(text: string | undefined, problems: ClaimsMappingProblem[]): Role[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const roles: Role[] = [];
  for (const raw of text.split(',')) {
    const role = raw.trim();
    if (!isRole(role)) {
      problems.push({ variable: 'OIDC_ROLE_PRECEDENCE', message: `"${role}" is not an Astreinte role; list roles among ${ROLES.join(', ')}, the preferred first` });
    } else if (roles.includes(role)) {
      problems.push({ variable: 'OIDC_ROLE_PRECEDENCE', message: `${role} is listed twice` });
    } else {
      roles.push(role);
    }
  }
  return roles;
}

/**
 * Every value found at a claim path: the top-level claim of that exact name if there is one, otherwise the
 * dotted path walked through objects and arrays. Arrays are flattened; null and undefined are dropped.
 */
export function claimValues(claims: Record<string, unknown>, path: string): unknown[] {
  if (Object.hasOwn(claims, path)) return flatten(claims[path]);
  let current: unknown[] = [claims];
  for (const segment of path.split('.')) {
    const next: unknown[] = [];
    for (const value of current) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (typeof item === 'object' && item !== null && !Array.isArray(item) && Object.hasOwn(item, segment)) {
          next.push((item as Record<string, unknown>)[segment]);
        }
      }
    }
    current = next;
    if (current.length === 0) return [];
  }
  return current.flatMap(flatten);
}

function flatten(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value.flatMap(flatten) : [value];
}

/** The Astreinte roles named by one set of claim values, through the role map when there is one. */
export function knownRoles(values: readonly unknown[], roleMap: ReadonlyMap<string, Role> | undefined): Role[] {
  const roles = new Set<Role>();
  for (const value of values) {
    if (typeof value !== 'string') continue;
    const role = roleMap ? roleMap.get(value.trim()) : isRole(value) ? value : undefined;
    if (role) roles.add(role);
  }
  return [...roles];
}

/**
 * The RPPS number in a claim value: 11 digits as such, or Pro Santé Connect's national identifier of an
 * RPPS practitioner (SubjectNameID / preferred_username), which is `8` followed by the 11-digit RPPS.
 * Other identifiers (ADELI-based ones start with `0`, others with `3`...) are not RPPS numbers: undefined.
 */
export function rppsFromClaimValue(value: string): string | undefined {
  const text = value.trim();
  if (/^\d{11}$/.test(text)) return text;
  if (/^8\d{11}$/.test(text)) return text.slice(1);
  return undefined;
}
