import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UnrenderableInstance } from './pixel-module.ts';
import type { RenderJob } from './render-job.ts';
import type { RenderRequestMessage, RenderResultMessage } from './render-worker.ts';

interface Pending {
  thread: Thread;
  resolve: (image: Uint8Array) => void;
  reject: (error: Error) => void;
}

interface Thread {
  worker: Worker;
  busy: number;
}

/**
 * Worker threads that render frames, so that decoding a JPEG 2000 CT slice (tens of milliseconds of WebAssembly)
 * never holds the event loop that serves the other requests. One thread per core, at most 4: the main thread
 * mostly waits on storage and sockets. Threads start on first use and are unref'd: an
 * idle pool keeps no process alive. Jobs go to the least busy thread.
 */
export class RenderPool {
  private readonly threads: Thread[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly size = Math.min(4, availableParallelism())) {}

  render(job: RenderJob): Promise<Uint8Array> {
    const thread = this.pick();
    const id = this.nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(id, { thread, resolve, reject });
      thread.busy++;
      thread.worker.ref();
      const message: RenderRequestMessage = { id, job };
      thread.worker.postMessage(message);
    });
  }

  async close(): Promise<void> {
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private pick(): Thread {
    const idle = this.threads.find((t) => t.busy === 0);
    if (idle) return idle;
    if (this.threads.length < this.size) return this.spawn();
    return this.threads.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  private spawn(): Thread {
    const worker = startWorker();
    const thread: Thread = { worker, busy: 0 };
    worker.on('message', (answer: RenderResultMessage) => {
      thread.busy--;
      if (thread.busy === 0) worker.unref();
      const waiting = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      if (!waiting) return;
      if ('image' in answer) waiting.resolve(answer.image);
      else waiting.reject(answer.unrenderable ? new UnrenderableInstance(answer.error) : new Error(answer.error));
    });
    worker.on('error', (error) => this.fail(thread, error));
    worker.on('exit', (code) => this.fail(thread, new Error(`a render thread exited (code ${code})`)));
    worker.unref();
    this.threads.push(thread);
    return thread;
  }

  /** A thread that died takes its jobs with it: they fail, and the next job starts a new thread. */
  private fail(thread: Thread, error: Error): void {
    const index = this.threads.indexOf(thread);
    if (index === -1) return;
    this.threads.splice(index, 1);
    for (const [id, waiting] of this.pending) {
      if (waiting.thread !== thread) continue;
      this.pending.delete(id);
      waiting.reject(error);
    }
  }
}

/**
 * The compiled gateway runs render-worker.js. From the TypeScript sources the thread needs tsx, and a loader
 * registered in the main thread does not reach workers on Node 20: the thread loads tsx's require hook itself.
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./render-worker.js', import.meta.url));
  const file = fileURLToPath(new URL('./render-worker.ts', import.meta.url));
  const tsx = fileURLToPath(import.meta.resolve('tsx/cjs/api'));
  return new Worker(`require(${JSON.stringify(tsx)}).require(${JSON.stringify(file)}, ${JSON.stringify(file)});`, { eval: true });
}
