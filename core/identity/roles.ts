/**
 * Who is calling. A token carries exactly one role; the site (FINESS) ties a sender to its
 * establishment. sender, reader and admin are used today; the other roles are reserved for the
 * expertise, coordination and statistics features.
 */
export const ROLES = ['sender', 'reader', 'admin', 'expert', 'coordinator', 'analyst'] as const;

export type Role = (typeof ROLES)[number];

export interface Principal {
  /** The token's subject: a person's or a machine's identifier at the issuer. */
  userId: string;
  role: Role;
  /** FINESS number of the establishment (9 characters); required for a sender. */
  site?: string;
  /** RPPS number of the health professional, when the identity provider gives it. */
  rpps?: string;
  territory?: string;
  /** The token's `jti`, for audit and revocation. */
  tokenId?: string;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/**
 * Returns the FINESS number in canonical form (upper case), or undefined when the value is not one.
 * Format only: 2 characters of département (digits, or 2A/2B for Corsica) and 7 digits. The check digit
 * is not verified.
 */
export function parseFiness(value: string): string | undefined {
  const canonical = value.trim().toUpperCase();
  return /^(\d{2}|2A|2B)\d{7}$/.test(canonical) ? canonical : undefined;
}
