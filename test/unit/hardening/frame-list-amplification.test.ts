/**
 * Protects retrieval from amplification (issue 13, Availability): `/frames/1,1,1,…` with 10,000 entries made the
 * server read and send the same frame 10,000 times. Each frame is sent once, in the order first asked, and the
 * list is capped.
 */
import { describe, expect, it } from 'vitest';
import { MAX_FRAMES_PER_REQUEST, parseFrameList } from '../../../gateway/read/retrieve/frame-list.ts';
import { BadRequest } from '../../../gateway/http/problem.ts';

describe('WADO-RS frame lists', () => {
  it('send each frame once, in the order first asked', () => {
    expect(parseFrameList('3,1,3,2,1', 3)).toEqual([3, 1, 2]);
    expect(parseFrameList(Array(MAX_FRAMES_PER_REQUEST).fill('1').join(','), 1)).toEqual([1]);
  });

  it('refuse 10,000 entries with a 400 saying what to do', () => {
    const list = Array(10_000).fill('1').join(',');
    expect(() => parseFrameList(list, 1)).toThrow(BadRequest);
    expect(() => parseFrameList(list, 1)).toThrow(`At most ${MAX_FRAMES_PER_REQUEST} frame numbers`);
  });
});
