import { BadRequest } from '../../http/problem.ts';

/** Parses the `{frames}` path segment: 1-based frame numbers separated by commas (PS3.18 10.4.1.1.3). */
export function parseFrameList(segment: string, numberOfFrames: number): number[] {
  const items = segment.split(',');
  if (items.length > 10_000) throw new BadRequest('At most 10000 frames can be asked for in one request.');
  return items.map((item) => {
    if (!/^[1-9]\d{0,8}$/.test(item.trim())) {
      throw new BadRequest(`Frame list ${JSON.stringify(segment.slice(0, 100))} is invalid: frame numbers are positive integers separated by commas, e.g. 1,2,3.`);
    }
    const frame = Number(item);
    if (frame > numberOfFrames) {
      throw new BadRequest(`Frame ${frame} does not exist: this instance has ${numberOfFrames} frame${numberOfFrames === 1 ? '' : 's'}.`);
    }
    return frame;
  });
}
