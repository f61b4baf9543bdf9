/**
 * Dose figures of a CT study, for the Technique section (arrêté of 22/09/2006: DLP and CTDIvol per
 * acquisition), read from what the archive already holds as DICOM JSON:
 * - an X-Ray Radiation Dose SR (TID 10011): each CT Acquisition (113819) with its CTDIvol (113830) and
 *   DLP (113838), the preferred source;
 * - otherwise the CT image headers: CTDIvol (0018,9345) per series (no DLP there).
 */
import type { DoseEntry } from './report-content.ts';

type JsonAttribute = { vr: string; Value?: unknown[] };
export type JsonDataset = Record<string, JsonAttribute | undefined>;

const XRAY_DOSE_SR = '1.2.840.10008.5.1.4.1.1.88.67';
const ENHANCED_XRAY_DOSE_SR = '1.2.840.10008.5.1.4.1.1.88.76';

const first = (ds: JsonDataset, tag: string): unknown => ds[tag]?.Value?.[0];
const items = (ds: JsonDataset, tag: string): JsonDataset[] => (ds[tag]?.Value ?? []) as JsonDataset[];
const codeOf = (ds: JsonDataset): string | undefined => {
  const concept = items(ds, '0040A043')[0];
  return concept ? String(first(concept, '00080100') ?? '') : undefined;
};

/** Decimal text of a DS/FD value, at most 2 decimals (what a report shows). */
function decimalText(value: unknown): string | undefined {
  const n = typeof value === 'number' ? value : Number.parseFloat(String(value ?? ''));
  if (!Number.isFinite(n) || n < 0) return undefined;
  return String(Math.round(n * 100) / 100);
}

function numericValue(content: JsonDataset): string | undefined {
  const measured = items(content, '0040A300')[0];
  return measured ? decimalText(first(measured, '0040A30A')) : undefined;
}

/** Walks a dose SR's content tree for CT Acquisition containers. */
function dosesFromSr(sr: JsonDataset): DoseEntry[] {
  const entries: DoseEntry[] = [];
  const visit = (node: JsonDataset) => {
    for (const child of items(node, '0040A730')) {
      if (codeOf(child) === '113819') {
        let protocol: string | undefined;
        let ctdi: string | undefined;
        let dlp: string | undefined;
        const walk = (n: JsonDataset) => {
          for (const c of items(n, '0040A730')) {
            const code = codeOf(c);
            if (code === '125203') protocol ??= String(first(c, '0040A160') ?? '').trim() || undefined;
            if (code === '113830') ctdi ??= numericValue(c);
            if (code === '113838') dlp ??= numericValue(c);
            walk(c);
          }
        };
        walk(child);
        entries.push({ acquisition: protocol ?? `Acquisition ${entries.length + 1}`, ctdiVolMGy: ctdi, dlpMGyCm: dlp, source: 'dose-sr' });
      } else {
        visit(child);
      }
    }
  };
  visit(sr);
  return entries;
}

/** The dose entries of a study from its instances' DICOM JSON (any order). */
export function studyDoses(instances: readonly JsonDataset[]): DoseEntry[] {
  const sr = instances.find((i) => {
    const sopClass = String(first(i, '00080016') ?? '');
    return sopClass === XRAY_DOSE_SR || sopClass === ENHANCED_XRAY_DOSE_SR;
  });
  if (sr) {
    const fromSr = dosesFromSr(sr);
    if (fromSr.length > 0) return fromSr;
  }
  const bySeries = new Map<string, DoseEntry>();
  for (const instance of instances) {
    if (String(first(instance, '00080060') ?? '') !== 'CT') continue;
    const ctdi = decimalText(first(instance, '00189345'));
    const series = String(first(instance, '0020000E') ?? '');
    if (!ctdi || bySeries.has(series)) continue;
    const description = String(first(instance, '0008103E') ?? '').trim();
    bySeries.set(series, { acquisition: description || `Série ${String(first(instance, '00200011') ?? bySeries.size + 1)}`, ctdiVolMGy: ctdi, source: 'image-headers' });
  }
  return [...bySeries.values()];
}
