/**
 * DICOM UID syntax (PS3.5 9.1): 1 to 64 characters, numeric components separated by '.', no empty component,
 * no leading zero in a component unless the component is exactly '0'. A valid UID is therefore always safe as an
 * object-key or URL path segment (no '/', no '..', no spaces).
 */
const UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

export const MAX_UID_LENGTH = 64;

export function isValidUid(uid: string): boolean {
  return uid.length > 0 && uid.length <= MAX_UID_LENGTH && UID_PATTERN.test(uid);
}

/** Why a UID is invalid, in words a user can act on (the UID itself is not patient data). */
export function describeUidProblem(uid: string): string | undefined {
  if (uid.length === 0) return 'it is empty';
  if (uid.length > MAX_UID_LENGTH) return `it is ${uid.length} characters long (at most ${MAX_UID_LENGTH})`;
  if (!/^[0-9.]+$/.test(uid)) return 'it contains characters other than digits and dots';
  const components = uid.split('.');
  if (components.some((c) => c === '')) return 'it has an empty component (leading, trailing or doubled dot)';
  if (components.some((c) => c.length > 1 && c.startsWith('0'))) return 'a component has a leading zero';
  return undefined;
}
