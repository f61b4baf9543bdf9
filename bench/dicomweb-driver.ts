// Server-agnostic DICOMweb client calls (STOW-RS, WADO-RS, QIDO-RS) used by every workload.
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import dicomParser from 'dicom-parser';
import { delimiterCounter, expectStatus, send, type HttpResult } from './http-client.ts';

export interface DicomwebTarget {
  /** Shown in the report: "astreinte" or "orthanc". */
  name: string;
  /** DICOMweb root without a trailing slash, e.g. http://127.0.0.1:8042/dicom-web */
  root: string;
  /** Sent with every request (authorization). */
  headers: Record<string, string>;
  agent: http.Agent;
}

export interface InstanceUids {
  study: string;
  series: string;
  instance: string;
}

export interface Timed {
  ms: number;
  bytes: number;
  firstByteMs: number;
}

const DICOM_JSON = 'application/dicom+json';

export function instanceUids(part10: Buffer): InstanceUids {
  const dataSet = dicomParser.parseDicom(part10, { untilTag: 'x00280000' });
  const study = dataSet.string('x0020000d');
  const series = dataSet.string('x0020000e');
  const instance = dataSet.string('x00080018');
  if (!study || !series || !instance) throw new Error('generated instance lacks study, series or SOP instance UID');
  return { study, series, instance };
}

/** Multipart/related body chunks for STOW-RS; the instances themselves are not copied. */
export function stowBody(instances: readonly Buffer[]): { contentType: string; chunks: Buffer[]; bytes: number } {
  const boundary = `bench-${randomBytes(12).toString('hex')}`;
  const partHeader = Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
  const crlf = Buffer.from('\r\n');
  const chunks: Buffer[] = [];
  for (const instance of instances) chunks.push(partHeader, instance, crlf);
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    contentType: `multipart/related; type="application/dicom"; boundary=${boundary}`,
    chunks,
    bytes: instances.reduce((sum, instance) => sum + instance.length, 0),
  };
}

/** Stores instances in one STOW-RS request and checks the server stored every one of them. */
export async function stow(target: DicomwebTarget, instances: readonly Buffer[]): Promise<Timed> {
  const body = stowBody(instances);
  const result = await send(target.agent, {
    method: 'POST',
    url: `${target.root}/studies`,
    headers: { ...target.headers, 'content-type': body.contentType, accept: DICOM_JSON },
    body: body.chunks,
    keepBody: true,
  });
  expectStatus(result, [200], `STOW-RS of ${instances.length} instance(s) to ${target.name}`);
  const stored = countStored(result);
  if (stored !== instances.length) {
    throw new Error(`STOW-RS to ${target.name}: ${stored} of ${instances.length} instances reported stored`);
  }
  return { ms: result.totalMs, bytes: body.bytes, firstByteMs: result.firstByteMs };
}

type DicomJsonAttribute = { vr?: string; Value?: unknown[] };
type DicomJsonDataset = Record<string, DicomJsonAttribute>;

function countStored(result: HttpResult): number {
  const response = JSON.parse(result.body.toString('utf8')) as DicomJsonDataset;
  const failed = response['00081198']?.Value?.length ?? 0;
  if (failed > 0) throw new Error(`STOW-RS: ${failed} instance(s) failed`);
  return response['00081199']?.Value?.length ?? 0;
}

/** WADO-RS retrieve of a whole series as multipart/related application/dicom; counts parts. */
export async function retrieveSeries(target: DicomwebTarget, uids: Omit<InstanceUids, 'instance'>): Promise<Timed & { parts: number }> {
  let counter: ReturnType<typeof delimiterCounter> | undefined;
  const result = await send(target.agent, {
    url: `${target.root}/studies/${uids.study}/series/${uids.series}`,
    headers: { ...target.headers, accept: 'multipart/related; type="application/dicom"' },
    onHeaders(headers) {
      const boundary = boundaryOf(headers['content-type']);
      if (boundary === undefined) return;
      counter = delimiterCounter(Buffer.from(`\r\n--${boundary}`));
      // The first delimiter may open the body without a leading CRLF.
      counter.onChunk(Buffer.from('\r\n'));
    },
    onChunk: (chunk) => counter?.onChunk(chunk),
  });
  expectStatus(result, [200], `WADO-RS series retrieve from ${target.name}`);
  if (!counter) throw new Error(`WADO-RS series retrieve from ${target.name}: not multipart (${result.headers['content-type']})`);
  return { ms: result.totalMs, bytes: result.bytes, firstByteMs: result.firstByteMs, parts: counter.count() - 1 };
}

function boundaryOf(contentType: string | undefined): string | undefined {
  return /boundary="?([^";]+)"?/i.exec(contentType ?? '')?.[1];
}

/** WADO-RS frame retrieve, with the Accept header Cornerstone3D sends by default. */
export async function retrieveFrame(target: DicomwebTarget, uids: InstanceUids, frame = 1): Promise<Timed> {
  const result = await send(target.agent, {
    url: `${target.root}/studies/${uids.study}/series/${uids.series}/instances/${uids.instance}/frames/${frame}`,
    headers: { ...target.headers, accept: 'multipart/related; type=application/octet-stream; transfer-syntax=*' },
    keepBody: false,
  });
  expectStatus(result, [200], `WADO-RS frame retrieve from ${target.name}`);
  return { ms: result.totalMs, bytes: result.bytes, firstByteMs: result.firstByteMs };
}

/** WADO-RS rendered frame (PS3.18 10.4.1): decoded, windowed and encoded as JPEG by the server. */
export async function retrieveRenderedFrame(target: DicomwebTarget, uids: InstanceUids, frame = 1): Promise<Timed> {
  const result = await send(target.agent, {
    url: `${target.root}/studies/${uids.study}/series/${uids.series}/instances/${uids.instance}/frames/${frame}/rendered`,
    headers: { ...target.headers, accept: 'image/jpeg' },
    keepBody: false,
  });
  expectStatus(result, [200], `WADO-RS rendered frame from ${target.name}`);
  return { ms: result.totalMs, bytes: result.bytes, firstByteMs: result.firstByteMs };
}

/** GET returning a DICOM JSON array; returns its length. 204 counts as an empty list. */
export async function getJsonList(target: DicomwebTarget, pathAndQuery: string): Promise<Timed & { count: number }> {
  const result = await send(target.agent, {
    url: `${target.root}${pathAndQuery}`,
    headers: { ...target.headers, accept: DICOM_JSON },
    keepBody: true,
  });
  expectStatus(result, [200, 204], `GET ${pathAndQuery} from ${target.name}`);
  const list = result.status === 204 || result.bytes === 0 ? [] : (JSON.parse(result.body.toString('utf8')) as unknown[]);
  if (!Array.isArray(list)) throw new Error(`GET ${pathAndQuery} from ${target.name} did not return a JSON array`);
  return { ms: result.totalMs, bytes: result.bytes, firstByteMs: result.firstByteMs, count: list.length };
}

export function seriesMetadata(target: DicomwebTarget, uids: Omit<InstanceUids, 'instance'>): Promise<Timed & { count: number }> {
  return getJsonList(target, `/studies/${uids.study}/series/${uids.series}/metadata`);
}
