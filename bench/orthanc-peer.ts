// A private Orthanc (Debian package + DICOMweb plugin) on free loopback ports, the reference peer.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { keepAliveAgent } from './http-client.ts';
import { freePort } from '../test/support/free-port.ts';
import { endedStatus, spawnLogged, stopChild, waitForHttp, type RunningServer } from './server-process.ts';

const ORTHANC = '/usr/sbin/Orthanc';
const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

/** Installs Orthanc when missing and allowed (root); returns why it is unavailable, or undefined. */
export function ensureOrthancInstalled(repoRoot: string): string | undefined {
  if (existsSync(ORTHANC) && existsSync(DICOMWEB_PLUGIN)) return undefined;
  if (process.getuid?.() !== 0) {
    return `Orthanc is not installed: run sudo apt-get install -y --no-install-recommends orthanc orthanc-dicomweb`;
  }
  try {
    execFileSync(path.join(repoRoot, 'scripts/ensure-system-packages.sh'), ['orthanc', 'orthanc-dicomweb'], { stdio: 'inherit' });
  } catch (error) {
    return `installing orthanc and orthanc-dicomweb failed: ${(error as Error).message}`;
  }
  return existsSync(ORTHANC) && existsSync(DICOMWEB_PLUGIN) ? undefined : 'Orthanc or its DICOMweb plugin is still missing after installation';
}

/** `dicomServer`: also accept C-STORE (AE title ORTHANC, from any calling AE) on `dicomPort`. */
export async function startOrthanc(
  workDir: string,
  concurrency: number,
  options: { dicomServer?: boolean } = {},
): Promise<RunningServer & { dicomPort: number }> {
  mkdirSync(path.join(workDir, 'storage'), { recursive: true });
  const httpPort = await freePort();
  const dicomPort = await freePort();
  const config = {
    Name: 'bench-orthanc',
    StorageDirectory: path.join(workDir, 'storage'),
    IndexDirectory: path.join(workDir, 'storage'),
    StorageCompression: false,
    HttpPort: httpPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    DicomServerEnabled: options.dicomServer ?? false,
    DicomAet: 'ORTHANC',
    DicomCheckCalledAet: true,
    DicomPort: dicomPort,
    KeepAlive: true,
    SaveJobs: false,
    HttpDescribeErrors: true,
    Plugins: [DICOMWEB_PLUGIN],
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: false, Ssl: false },
  };
  const configFile = path.join(workDir, 'orthanc.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const logFile = path.join(workDir, 'orthanc.log');
  const child = spawnLogged(ORTHANC, [configFile], { logFile });
  const origin = `http://127.0.0.1:${httpPort}`;
  try {
    await waitForHttp(`${origin}/system`, child, 30_000, logFile);
  } catch (error) {
    await stopChild(child, 5000);
    throw error;
  }
  const system = (await (await fetch(`${origin}/system`)).json()) as { Version?: string };
  const plugin = (await (await fetch(`${origin}/plugins/dicom-web`)).json()) as { Version?: string };
  return {
    name: 'orthanc',
    dicomPort,
    pid: child.pid as number,
    processes: () => [child.pid as number],
    target: { name: 'orthanc', root: `${origin}/dicom-web`, headers: {}, agent: keepAliveAgent(concurrency) },
    dimse: { port: dicomPort, aeTitle: 'ORTHANC', callingAeTitle: 'STGIRONS_CT' },
    version: `Orthanc ${system.Version ?? '?'}, DICOMweb plugin ${plugin.Version ?? '?'}`,
    logFile,
    ended: () => endedStatus(child),
    stop: () => stopChild(child, 15_000),
  };
}
