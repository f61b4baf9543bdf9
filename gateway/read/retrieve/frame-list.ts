import { BadRequest } from '../../http/problem.ts';

/**
 * Most frame numbers in one `{frames}` segment. A viewer asks for one frame, or a few, per request; the cap (with
 * duplicates dropped) keeps one request from making the server read the same frame thousands of times.
 */
export const MAX_FRAMES_PER_REQUEST = 2048;

/**
 * Parses the `{frames}` path segment: 1-based frame numbers separated by commas (PS3.18 10.4.1.1.3), in the order
 * asked, each frame once (`1,1,2` is frames 1 and 2).
 */
export function parseFrameList(segment: string, numberOfFrames: number): number[] {
  const items = segment.split(',', MAX_FRAMES_PER_REQUEST + 1);
  if (items.length > MAX_FRAMES_PER_REQUEST) {
    throw new BadRequest(
      `At most ${MAX_FRAMES_PER_REQUEST} frame numbers can be given in one request; ask for the others in further requests.`,
      'too-many-frames',
    );
  }
  const frames = new Set<number>();
  for (const item of items) {
    if (!/^[1-9]\d{0,8}$/.test(item.trim())) {
      throw new BadRequest(`Frame list ${JSON.stringify(segment.slice(0, 100))} is invalid: frame numbers are positive integers separated by commas, e.g. 1,2,3.`);
    }
    const frame = Number(item);
    if (frame > numberOfFrames) {
      throw new BadRequest(`Frame ${frame} does not exist: this instance has ${numberOfFrames} frame${numberOfFrames === 1 ? '' : 's'}.`);
    }
    frames.add(frame);
  }
  return [...frames];
}
