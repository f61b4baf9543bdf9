import { describe, expect, it } from 'vitest';
import { senderFlags } from '../../../worker/route/read-study-facts.ts';
import { CompletionFlagsError, parseCompletionFlags } from '../../../worker/route/routing-gateway.ts';

describe('completion flags (POST /api/studies/{study}/complete)', () => {
  it('accepts an empty body, a priority and an expertise', () => {
    expect(parseCompletionFlags(undefined)).toEqual({});
    expect(parseCompletionFlags({})).toEqual({});
    expect(parseCompletionFlags({ priority: 'stroke', expertise: 'neuroradiology' })).toEqual({ priority: 'stroke', expertise: 'neuroradiology' });
  });

  it('refuses unknown fields and values, saying what is accepted', () => {
    expect(() => parseCompletionFlags({ priority: 'AVC' })).toThrow(new CompletionFlagsError('"priority" must be one of stroke, urgent, scheduled'));
    expect(() => parseCompletionFlags({ expertise: 'ortho' })).toThrow(/"expertise" must be one of neuroradiology, cardiovascular-imaging/);
    expect(() => parseCompletionFlags({ urgent: true })).toThrow(/unknown field "urgent": only "priority" and "expertise"/);
    expect(() => parseCompletionFlags(['stroke'])).toThrow(/JSON object/);
  });

  it('reads stored flags back keeping only known values', () => {
    expect(senderFlags({ priority: 'urgent', expertise: 'pneumology', other: 1 })).toEqual({ priority: 'urgent', expertise: 'pneumology' });
    expect(senderFlags({ priority: 'now' })).toEqual({});
    expect(senderFlags(null)).toEqual({});
  });
});
