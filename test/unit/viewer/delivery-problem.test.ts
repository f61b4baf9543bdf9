import { describe, expect, it } from 'vitest';
import { deliveryFailure, deliveryProblem } from '../../../viewer/src/delivery-problem.ts';
import { REPORT_EN, REPORT_FR } from '../../../viewer/src/report-words.ts';

describe("a delivery's failure read from the worker's message", () => {
  // The messages as the delivery worker records them (worker/deliver/*.ts), with Node's error codes inside.
  it.each([
    ['MLLP connection to ris.saint-girons.invalid:2575 failed: getaddrinfo ENOTFOUND ris.saint-girons.invalid', 'not-found'],
    ['STOW-RS to http://pacs.example/dicom-web failed: getaddrinfo EAI_AGAIN pacs.example', 'not-found'],
    ['STOW-RS to http://127.0.0.1:9/dicom-web failed: connect ECONNREFUSED 127.0.0.1:9', 'connection-refused'],
    ['C-STORE to PACS@10.0.0.4:104 failed: DICOM connection to 10.0.0.4:104 failed: connect ETIMEDOUT 10.0.0.4:104', 'no-answer'],
    ['no MLLP answer from ris.example:2575 within 30 s', 'no-answer'],
    ['STOW-RS to https://pacs.example failed: The operation was aborted due to timeout', 'no-answer'],
    ['STOW-RS to https://pacs.example failed: self-signed certificate in certificate chain', 'certificate'],
    ['ris.example:2575 closed the MLLP connection without a complete answer', 'connection-cut'],
    ['STOW-RS to https://pacs.example failed: read ECONNRESET', 'connection-cut'],
    ['STOW-RS to https://pacs.example answered 401: Unauthorized', 'credentials'],
    ['STOW-RS to https://pacs.example answered 409: {"00081198":…}', 'report-refused'],
    ['the RIS at ris.example:2575 did not accept the report: MSA-1 AE bad patient id', 'report-refused'],
    ['association refused by PACS@10.0.0.4:104: PACS rejected the association (result 1, source 1, reason 7)', 'report-refused'],
    ['the environment variable PRISON_PACS_PASSWORD (password of this destination) is not set on the delivering machine', 'configuration'],
    ['the destination pacs of site 090000001 is no longer in the regional configuration', 'configuration'],
    ['the stored object 1.2.3 differs from the one signed (sha256 ab, signed cd); it is not sent', 'altered'],
    ['something nobody foresaw', 'other'],
  ])('%s → %s', (message, failure) => {
    expect(deliveryFailure(message)).toBe(failure);
  });
});

describe("a delivery's problem told to the clinician", () => {
  const dnsFailure = 'MLLP connection to ris.saint-girons.invalid:2575 failed: getaddrinfo ENOTFOUND ris.saint-girons.invalid';

  it('names the hospital system that failed and that the coordination was alerted, in French, the detail kept as it was', () => {
    expect(deliveryProblem({ kind: 'hl7-mllp', status: 'failed', lastError: dnsFailure }, REPORT_FR)).toEqual({
      failure: 'not-found',
      what: 'Le RIS de l’hôpital est introuvable à l’adresse configurée (nom inconnu du réseau).',
      next: 'Plus d’essai automatique\u202f: la coordination a été alertée. Si le résultat est urgent, transmettez-le au service demandeur par téléphone.',
      technical: dnsFailure,
    });
  });

  it('says in English that another try is coming while the delivery is retried', () => {
    const problem = deliveryProblem({ kind: 'dicomweb', status: 'retrying', lastError: 'STOW-RS to http://127.0.0.1:9 failed: connect ECONNREFUSED 127.0.0.1:9' }, REPORT_EN);
    expect(problem?.what).toBe('The hospital’s PACS refuses the connection at the configured address (service stopped or wrong port).');
    expect(problem?.next).toBe('It will be tried again automatically; nothing to do for now.');
  });

  it('says when the next automatic try comes, in Paris time whatever the offset, in French and in English', () => {
    const refused = { kind: 'dicomweb', status: 'retrying' as const, lastError: 'STOW-RS to http://127.0.0.1:9 failed: connect ECONNREFUSED 127.0.0.1:9' };
    expect(deliveryProblem({ ...refused, nextAttemptAt: '2026-11-22T01:14:30.000Z' }, REPORT_FR)?.next).toBe(
      'Nouvel essai automatique à 02:14\u202f; rien à faire pour l’instant.',
    );
    expect(deliveryProblem({ ...refused, nextAttemptAt: '2026-07-01T23:05:00+01:00' }, REPORT_EN)?.next).toBe('Next automatic try at 00:05; nothing to do for now.');
  });

  it('falls back to "another try is coming" when the time is missing or unreadable, and gives no time once given up', () => {
    const refused = { kind: 'hl7-mllp', lastError: 'MLLP connection to ris.example:2575 failed: connect ECONNREFUSED 10.0.0.1:2575' };
    expect(deliveryProblem({ ...refused, status: 'retrying', nextAttemptAt: null }, REPORT_FR)?.next).toBe(
      'Un nouvel essai automatique est prévu\u202f; rien à faire pour l’instant.',
    );
    expect(deliveryProblem({ ...refused, status: 'retrying', nextAttemptAt: 'soon' }, REPORT_EN)?.next).toBe('It will be tried again automatically; nothing to do for now.');
    expect(deliveryProblem({ ...refused, status: 'failed', nextAttemptAt: '2026-11-22T01:14:30Z' }, REPORT_FR)?.next).toMatch(/^Plus d’essai automatique/);
  });

  it('puts no placeholder nor raw message in the sentence, in either language', () => {
    for (const words of [REPORT_FR, REPORT_EN]) {
      const problem = deliveryProblem({ kind: 'dicom', status: 'failed', lastError: 'the environment variable X (token of this destination) is not set on the delivering machine' }, words);
      expect(problem?.what).not.toContain('{system}');
      expect(problem?.what).not.toContain('environment variable');
    }
  });

  it('has nothing to say of a delivery delivered, or still waiting for its first try', () => {
    expect(deliveryProblem({ kind: 'dicomweb', status: 'delivered', lastError: dnsFailure }, REPORT_FR)).toBeUndefined();
    expect(deliveryProblem({ kind: 'dicomweb', status: 'pending', lastError: null }, REPORT_FR)).toBeUndefined();
  });
});
