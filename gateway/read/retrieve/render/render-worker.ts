// A render thread: decodes, windows, scales and encodes frames posted by RenderPool, one at a time.
import { parentPort } from 'node:worker_threads';
import { UnrenderableInstance } from './pixel-module.ts';
import { runRenderJob, type RenderJob } from './render-job.ts';

export interface RenderRequestMessage {
  id: number;
  job: RenderJob;
}

export type RenderResultMessage =
  | { id: number; image: Uint8Array }
  | { id: number; error: string; unrenderable: boolean };

parentPort?.on('message', async ({ id, job }: RenderRequestMessage) => {
  let answer: RenderResultMessage;
  try {
    answer = { id, image: await runRenderJob(job) };
  } catch (error) {
    answer = { id, error: error instanceof Error ? error.message : String(error), unrenderable: error instanceof UnrenderableInstance };
  }
  const transfer = 'image' in answer ? [answer.image.buffer as ArrayBuffer] : [];
  parentPort!.postMessage(answer, transfer);
});
