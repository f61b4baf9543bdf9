/** Small conversions between DICOM value representations and what the index stores. */

const TIME = /^(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?$/;

/**
 * A TM value ('1015', '101530.12', old-style '10:15:30') as the bounds of the period it designates, in the
 * sortable form HHMMSS.FFFFFF: '1015' -> ['101500.000000', '101559.999999']. undefined if malformed.
 */
export function timeBounds(tm: string): { from: string; to: string } | undefined {
  const match = TIME.exec(tm.trim().replace(/:/g, ''));
  if (!match) return undefined;
  const [, hh, mm, ss, fraction] = match;
  if (Number(hh) > 23 || Number(mm ?? 0) > 59 || Number(ss ?? 0) > 60) return undefined;
  const from = `${hh}${mm ?? '00'}${ss ?? '00'}.${(fraction ?? '').padEnd(6, '0')}`;
  const to = `${hh}${mm ?? '59'}${ss ?? '59'}.${(fraction ?? '').padEnd(6, '9')}`;
  return { from, to };
}

/** True for a real calendar date written YYYYMMDD. */
export function isDicomDate(da: string): boolean {
  if (!/^\d{8}$/.test(da)) return false;
  const year = Number(da.slice(0, 4));
  const month = Number(da.slice(4, 6));
  const day = Number(da.slice(6, 8));
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** An integer that fits a PostgreSQL integer column, else null (IS values out of range are not indexed). */
export function int32OrNull(value: number | undefined): number | null {
  return value !== undefined && Number.isInteger(value) && value >= -2147483648 && value <= 2147483647 ? value : null;
}

/** Trimmed string without NUL characters (PostgreSQL text cannot hold them), or null when empty/absent. */
export function textOrNull(value: string | undefined): string | null {
  const trimmed = value?.replace(/\0/g, '').trim();
  return trimmed ? trimmed : null;
}
