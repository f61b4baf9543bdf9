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
    // A copy of its own: an encoder's buffer may share its memory (Node's buffer pool, native memory), which
    // must not be transferred away from this thread.
    answer = { id, image: new Uint8Array(await runRenderJob(job)) };
  } catch (error) {
    answer = { id, error: error instanceof Error ? error.message : String(error), unrenderable: error instanceof UnrenderableInstance };
  }
  const transfer = 'image' in answer ? [answer.image.buffer as ArrayBuffer] : [];
  parentPort!.postMessage(answer, transfer);
});
