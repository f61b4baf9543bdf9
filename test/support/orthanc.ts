import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from './free-port.ts';

const ORTHANC = '/usr/sbin/Orthanc';

export interface OrthancProcess {
  url: string;
  dicomPort: number;
  aeTitle: string;
  stop(): Promise<void>;
}

/** A private Orthanc (Debian package `orthanc`) on loopback, with DICOM on and the given modalities known. */
export async function startOrthanc(workDir: string, options: { aeTitle: string; modalities: Record<string, [string, string, number]> }): Promise<OrthancProcess> {
  await mkdir(path.join(workDir, 'storage'), { recursive: true });
  const httpPort = await freePort();
  const dicomPort = await freePort();
  const config = {
    Name: 'test-orthanc',
    StorageDirectory: path.join(workDir, 'storage'),
    IndexDirectory: path.join(workDir, 'storage'),
    HttpPort: httpPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    DicomServerEnabled: true,
    DicomAet: options.aeTitle,
    DicomPort: dicomPort,
    DicomModalities: options.modalities,
    Plugins: [],
  };
  const configFile = path.join(workDir, 'orthanc.json');
  await writeFile(configFile, JSON.stringify(config));
  const child: ChildProcess = spawn(ORTHANC, [configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  const url = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Orthanc exited with ${child.exitCode}:\n${log}`);
    try {
      if ((await fetch(`${url}/system`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`Orthanc not ready after 30 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    dicomPort,
    aeTitle: options.aeTitle,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
