import { describe, expect, it } from 'vitest';
import { senderFlags } from '../../../storage/worklist/sender-flags.ts';

describe('completion flags (POST /api/studies/{study}/complete)', () => {
  it('reads stored flags back keeping only known values', () => {
    expect(senderFlags({ priority: 'urgent', expertise: 'pneumology', other: 1 })).toEqual({ priority: 'urgent', expertise: 'pneumology' });
    expect(senderFlags({ priority: 'now' })).toEqual({});
    expect(senderFlags(null)).toEqual({});
  });
});
