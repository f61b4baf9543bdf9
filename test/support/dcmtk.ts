import { execFile } from 'node:child_process';

export interface ToolRun {
  code: number;
  output: string;
}

/** Runs a DCMTK tool (echoscu, storescu, findscu...) and returns its exit code and everything it printed. */
export function runDcmtk(tool: string, args: string[], timeoutMs = 60_000): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(tool, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** The DIMSE statuses of every C-STORE response `storescu -d` printed, in order. */
export function storeStatuses(output: string): number[] {
  return [...output.matchAll(/DIMSE Status\s*:\s*0x([0-9a-f]+)/gi)].map((m) => parseInt(m[1], 16));
}
