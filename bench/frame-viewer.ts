// A viewer in its own process: asks for frames one at a time, 10 ms apart, until told to stop. Run by
// `startFrameViewer` (below) so that frame latencies measured during an ingest are not delayed by the bench's
// own event loop, busy sending the ingest (a radiologist's viewer runs on another machine).
//   stdin, first line: {"target": {name, root, headers}, "instances": InstanceUids[]}; any later line: stop.
//   stdout, once stopped: the latencies in ms as a JSON array.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { retrieveFrame, type DicomwebTarget, type InstanceUids } from './dicomweb-driver.ts';
import { keepAliveAgent } from './http-client.ts';

const PAUSE_MS = 10;

export interface FrameViewer {
  /** Stops asking and returns every frame's latency, in ms. */
  stop(): Promise<number[]>;
}

/** Starts a viewer process reading frames of `instances` (one at a time) from `target`. */
export async function startFrameViewer(target: DicomwebTarget, instances: InstanceUids[]): Promise<FrameViewer> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'frame-viewer.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    void exited.then((code) => reject(new Error(`the frame viewer exited (code ${code}) before reading a frame`)));
  });
  child.stdin.write(`${JSON.stringify({ target: { name: target.name, root: target.root, headers: target.headers }, instances })}\n`);
  await ready; // it prints "reading" once its first frame arrived: the ingest starts against a running viewer
  return {
    async stop() {
      child.stdin.end('stop\n');
      const code = await exited;
      const json = output.slice(output.indexOf('\n') + 1);
      if (code !== 0) throw new Error(`the frame viewer failed (exit code ${code})`);
      return JSON.parse(json) as number[];
    },
  };
}

async function runViewer(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  const iterator = lines[Symbol.asyncIterator]();
  const first = await iterator.next();
  const { target, instances } = JSON.parse(first.value as string) as { target: Omit<DicomwebTarget, 'agent'>; instances: InstanceUids[] };
  const viewer: DicomwebTarget = { ...target, agent: keepAliveAgent(1) };
  let reading = true;
  void iterator.next().then(() => (reading = false));
  const latencies: number[] = [];
  for (let index = 0; reading; index++) {
    latencies.push((await retrieveFrame(viewer, instances[index % instances.length])).ms);
    if (index === 0) process.stdout.write('reading\n');
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
  }
  viewer.agent.destroy();
  lines.close();
  process.stdout.write(JSON.stringify(latencies.slice(1))); // the first frame opened the connection
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) await runViewer();
