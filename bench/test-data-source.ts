// The synthetic study generator the benchmark uses: the project's test-data/generate-study.ts when it
// exists and exports what is needed, otherwise the benchmark's own stand-in.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import * as standIn from './stand-in-generator.ts';

type Instances = Iterable<Buffer> | AsyncIterable<Buffer>;

export interface StudyGenerator {
  /** Where the generator comes from, for the report. */
  source: string;
  generateCtSeries: (options: { kind: 'ct-head' | 'ct-chest'; slices: number; rows?: number; columns?: number; seed?: number }) => Instances;
  generateChestXray: (options: { seed?: number }) => Buffer | Promise<Buffer>;
  generateStudies: (count: number, options: { seed?: number }) => Instances;
}

const PROJECT_GENERATOR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../test-data/generate-study.ts');

export async function loadStudyGenerator(): Promise<StudyGenerator> {
  const fallback: StudyGenerator = { source: 'bench/stand-in-generator.ts', ...standIn };
  if (!existsSync(PROJECT_GENERATOR)) return fallback;
  const module = (await import(pathToFileURL(PROJECT_GENERATOR).href)) as Partial<Omit<StudyGenerator, 'source'>>;
  const { generateCtSeries, generateChestXray, generateStudies } = module;
  if (typeof generateCtSeries !== 'function' || typeof generateChestXray !== 'function' || typeof generateStudies !== 'function') {
    return { ...fallback, source: 'bench/stand-in-generator.ts (test-data/generate-study.ts lacks an expected export)' };
  }
  return { source: 'test-data/generate-study.ts', generateCtSeries, generateChestXray, generateStudies };
}

export async function collect(instances: Instances, limit = Number.POSITIVE_INFINITY): Promise<Buffer[]> {
  const all: Buffer[] = [];
  for await (const instance of instances) {
    all.push(instance);
    if (all.length >= limit) break;
  }
  return all;
}
