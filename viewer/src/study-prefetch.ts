import { apiJson } from './api.ts';
import { seriesEntries, seriesSearchPath } from './series-entries.ts';
import type { DicomJson } from './dicom-json.ts';

/**
 * What the reading page asks first (the study's series, then the first image series' metadata), asked for
 * while the reader points at a study on the worklist, so that the click finds it on its way or arrived. An
 * answer is used once, and only within AHEAD_MS of its request (a study on the worklist is stable: routed after
 * its last instance, but a late series may still come).
 */
const AHEAD_MS = 20_000;

interface Ahead {
  requestedAt: number;
  answer: Promise<unknown>;
}

const ahead = new Map<string, Ahead>();

function fetchAhead(path: string): Promise<unknown> {
  const known = ahead.get(path);
  if (known && performance.now() - known.requestedAt < AHEAD_MS) return known.answer;
  const answer = apiJson<unknown>(path);
  answer.catch(() => ahead.delete(path)); // a refusal is asked again on the reading page, which shows it
  ahead.set(path, { requestedAt: performance.now(), answer });
  return answer;
}

export function metadataPath(study: string, series: string): string {
  return `/dicomweb/studies/${study}/series/${series}/metadata`;
}

/**
 * The answer to `path`: the one asked for ahead when there is a fresh one (and when it was asked for), else a
 * new request now.
 */
export function jsonFetchedAhead<T>(path: string): { requestedAt: number; answer: Promise<T> } {
  const known = ahead.get(path);
  ahead.delete(path);
  if (known && performance.now() - known.requestedAt < AHEAD_MS) return { requestedAt: known.requestedAt, answer: known.answer as Promise<T> };
  return { requestedAt: performance.now(), answer: apiJson<T>(path) };
}

/** Asks for the study's series and the first image series' metadata, once per AHEAD_MS. */
export function prefetchStudy(study: string): void {
  void (fetchAhead(seriesSearchPath(study)) as Promise<DicomJson[]>)
    .then((series) => {
      const first = seriesEntries(series)[0];
      if (first) void fetchAhead(metadataPath(study, first.uid)).catch(() => undefined);
    })
    .catch(() => undefined);
}
