import { describe, expect, it } from 'vitest';
import { comparisonRows, consoleTable, markdownReport, type BenchReport } from '../../../bench/bench-report.ts';
import { nameFragment, studyQueries } from '../../../bench/workloads.ts';

function report(): BenchReport {
  return {
    date: '2026-11-23 09:00 UTC',
    quick: false,
    machine: { cpus: 2, cpuModel: 'Test CPU', memoryGiB: 24, node: 'v20.20.2', kernel: '6.1' },
    generator: 'test-data/generate-study.ts',
    ceilings: { diskWriteMBps: 500, loopbackPostToDiskMBps: 400, loopbackGetMBps: 1400, tinyRequestsPerSecond: 7700, tinyRequestP50Ms: 0.35 },
    servers: [
      {
        name: 'astreinte',
        version: 'Astreinte 0.1.0',
        durationMs: 1,
        metrics: [
          { key: 'stow1.mbps', label: 'STOW-RS, one instance per request', unit: 'MB/s', value: 200, higherIsBetter: true, ceiling: 'loopbackPostToDisk' },
          { key: 'metadata.600', label: 'WADO-RS series metadata, 600 instances', unit: 'ms', value: 20, higherIsBetter: false },
          { key: 'rss.big', label: 'Peak RSS while ingesting 1052 MB', unit: 'MB', value: 320, higherIsBetter: false },
        ],
      },
      {
        name: 'orthanc',
        version: 'Orthanc 1.10.1, DICOMweb plugin 1.7',
        durationMs: 1,
        metrics: [
          { key: 'stow1.mbps', label: 'STOW-RS, one instance per request', unit: 'MB/s', value: 100, higherIsBetter: true, ceiling: 'loopbackPostToDisk', detail: '300 | CT' },
          { key: 'metadata.600', label: 'WADO-RS series metadata, 600 instances', unit: 'ms', value: 400, higherIsBetter: false },
        ],
      },
    ],
    notes: [],
    durationMs: 300_000,
  };
}

describe('comparison rows', () => {
  it('pairs metrics by key with ratios and shares of the ceiling', () => {
    const rows = comparisonRows(report());
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({ ours: '200', peer: '100', ratio: '2.00× better', oursShare: '50%', peerShare: '25%' });
    expect(rows[1]).toMatchObject({ ours: '20.0', peer: '400', ratio: '20× better', oursShare: '' });
    expect(rows[2]).toMatchObject({ ours: '320', peer: '–', ratio: '–' });
  });

  it('says whether the targets are met', () => {
    const table = consoleTable(report());
    expect(table).toContain('WADO-RS series metadata, 600 instances < 50 ms: 20.00 ms, met');
    expect(table).toContain('Peak RSS while ingesting 1052 MB < 300 MB: 320.00 MB, NOT met');
    // Relative targets: at least twice the peer's figure measured in the same run.
    expect(table).toContain('STOW-RS, one instance per request at least 2× Orthanc: 200 against 100 MB/s, 2.00×, met');
    expect(table).toContain('WADO-RS series retrieve at least 2× Orthanc: not measured');
    expect(table).toContain('QIDO PatientName p95 with 10,000 studies < 20 ms: not measured');
  });

  it('says a relative target is not met below the factor', () => {
    const slower = report();
    slower.servers[0].metrics[0] = { ...slower.servers[0].metrics[0], value: 150 };
    expect(consoleTable(slower)).toContain('STOW-RS, one instance per request at least 2× Orthanc: 150 against 100 MB/s, 1.50×, NOT met');
  });

  it('compares small-instance STOW with the durable receivers fed the same requests', () => {
    const measured = report();
    measured.ceilings.durableReceiver = { one: 400 };
    measured.ceilings.perInstanceReceiver = { one: 250 };
    for (const server of measured.servers) server.metrics[0] = { ...server.metrics[0], ceiling: 'durableOne' };
    // The share column is against the receiver that keeps one file per instance, as the archive does.
    expect(comparisonRows(measured)[0]).toMatchObject({ oursShare: '80%', peerShare: '40%' });
    const table = consoleTable(measured);
    expect(table).toContain('Durable receiver, one file per request, the STOW one-instance-per-request bodies, 4 clients: 400 MB/s');
    expect(table).toContain('Durable receiver, one file per instance, the STOW one-instance-per-request bodies, 4 clients: 250 MB/s');
    expect(table).toContain(
      '2.00×, met (2× Orthanc is 200 MB/s: 80% of the trivial durable receiver keeping one file per instance (250 MB/s), 50% of the one keeping one file per request (400 MB/s))',
    );
    // A shape not measured (an older result file) is not shown.
    expect(table).not.toContain('10-instances-per-request bodies');
  });

  it('falls back on the one-file-per-request receiver in result files without the per-instance one', () => {
    const measured = report();
    measured.ceilings.durableReceiver = { one: 250 };
    for (const server of measured.servers) server.metrics[0] = { ...server.metrics[0], ceiling: 'durableOne' };
    expect(comparisonRows(measured)[0]).toMatchObject({ oursShare: '80%' });
    expect(consoleTable(measured)).toContain('(2× Orthanc is 200 MB/s: 80% of the trivial durable receiver keeping one file per request (250 MB/s))');
  });

  it('writes a markdown table with the machine and escaped cells', () => {
    const markdown = markdownReport(report());
    expect(markdown).toContain('2 CPUs (Test CPU), 24 GiB memory');
    expect(markdown).toContain('Orthanc 1.10.1, DICOMweb plugin 1.7');
    expect(markdown).toContain('Orthanc: 300 \\| CT');
  });
});

describe('study queries', () => {
  const keys = [
    { patientId: 'IPP1', familyName: 'NOËL', studyDate: '20240211' },
    { patientId: 'IPP2', familyName: 'D’ARTAGNAN', studyDate: '20231201' },
  ];

  it('takes an ASCII fragment of the family name', () => {
    expect(nameFragment('D’ARTAGNAN')).toBe('ARTAGN');
    expect(nameFragment('NOËL')).toBeUndefined();
  });

  it('builds the same OHIF-like queries for the same seed, with whole-month date ranges', () => {
    const first = studyQueries(keys, 2, 5, 7);
    expect(studyQueries(keys, 2, 5, 7)).toEqual(first);
    for (const query of first.studyDate) expect(query).toMatch(/StudyDate=(20240201-20240229|20231201-20231231)&limit=101/);
    for (const query of first.patientName) expect(query).toContain('PatientName=*ARTAGN*');
  });
});
