import { describe, expect, it } from 'vitest';
import {
  actorFromPrincipal,
  AUDIT_EVENT_TYPES,
  AuditCode,
  AuditEventError,
  buildAuditEvent,
  MAX_UIDS_PER_LIST,
  systemActor,
  type AuditEventInput,
} from '../../../audit/audit-event.ts';

const at = new Date('2026-11-15T01:10:00.123Z');
const base: AuditEventInput = {
  type: AuditCode.instancesAccessed,
  subtype: 'wado-metadata',
  action: 'R',
  actor: { userId: 'dr-a', role: 'reader' },
};

describe('audit events', () => {
  it('codes the 15 DICOM audit event types', () => {
    expect(Object.keys(AUDIT_EVENT_TYPES)).toEqual(Array.from({ length: 15 }, (_, i) => String(110100 + i)));
    expect(AUDIT_EVENT_TYPES[AuditCode.query]).toBe('Query');
    expect(AUDIT_EVENT_TYPES[AuditCode.userAuthentication]).toBe('User Authentication');
  });

  it('stamps the time, the observer, a default success outcome, and drops what was not given', () => {
    expect(buildAuditEvent(base, at, 'gw-1')).toEqual({
      v: 1,
      type: '110103',
      subtype: 'wado-metadata',
      action: 'R',
      outcome: 0,
      recorded: '2026-11-15T01:10:00.123Z',
      observer: 'gw-1',
      actor: { userId: 'dr-a', role: 'reader' },
      entities: [],
    });
  });

  it('takes who from the principal, or names the system component', () => {
    expect(
      actorFromPrincipal({ userId: 'u1', role: 'sender', site: '310780770', rpps: '10001234567', territory: 't31', tokenId: 'j1' }),
    ).toEqual({ userId: 'u1', role: 'sender', site: '310780770', rpps: '10001234567', territory: 't31', tokenId: 'j1' });
    expect(systemActor('routing')).toEqual({ userId: 'system:routing', role: 'system' });
  });

  it('caps UID lists and keeps the real instance count', () => {
    const uids = Array.from({ length: 250 }, (_, i) => `1.2.3.${i}`);
    const event = buildAuditEvent({ ...base, entities: [{ kind: 'study', studyUid: '1.2.3', sopInstanceUids: uids }] }, at, 'gw');
    expect(event.entities[0]).toMatchObject({ instanceCount: 250 });
    expect((event.entities[0] as { sopInstanceUids: string[] }).sopInstanceUids).toHaveLength(MAX_UIDS_PER_LIST);
  });

  it('makes text safe for jsonb: no NUL, no lone surrogate; truncates free text', () => {
    const event = buildAuditEvent(
      { ...base, outcomeDescription: 'a\u0000b\ud800c', network: { userAgent: 'x'.repeat(1000) } },
      at,
      'gw',
    );
    expect(event.outcomeDescription).toBe('ab\ufffdc');
    expect(event.network?.userAgent).toHaveLength(256);
  });

  it('refuses bad input with a message naming the field, never the value', () => {
    const secret = 'DUPONT^JEANNE';
    const attempts: [AuditEventInput, RegExp][] = [
      [{ ...base, type: '999999' as never }, /type must be one of/],
      [{ ...base, subtype: secret }, /subtype must be/],
      [{ ...base, action: 'X' as never }, /action must be/],
      [{ ...base, outcome: 3 as never }, /outcome must be/],
      [{ ...base, actor: { userId: '' } }, /actor.userId is required/],
      [{ ...base, entities: [{ kind: 'nope' } as never] }, /entities\[0\].kind must be/],
    ];
    for (const [input, message] of attempts) {
      const error = (() => {
        try {
          buildAuditEvent(input, at, 'gw');
        } catch (e) {
          return e as Error;
        }
      })();
      expect(error).toBeInstanceOf(AuditEventError);
      expect(error!.message).toMatch(message);
      expect(error!.message).not.toContain('DUPONT');
    }
  });

  it('never refuses an event for what it says: an over-long identifier is cut and its field named', () => {
    const event = buildAuditEvent({ ...base, entities: [{ kind: 'patient', patientId: 'DUPONT^JEANNE'.repeat(10) }] }, at, 'gw');
    const patient = event.entities?.[0] as { patientId: string };
    expect(patient.patientId.length).toBeLessThan(130);
    expect('DUPONT^JEANNE'.repeat(10).startsWith(patient.patientId)).toBe(true);
    expect(event.truncated).toEqual(['entities[0].patientId']);
  });
});
