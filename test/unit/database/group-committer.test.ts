import { describe, expect, it } from 'vitest';
import { GroupCommitter } from '../../../storage/database/group-committer.ts';

/** A writer that records the groups it was given and answers after the test lets it. */
function recordingWriter(fail: (items: number[]) => boolean = () => false) {
  const groups: number[][] = [];
  const release: (() => void)[] = [];
  const writeGroup = async (items: number[]) => {
    groups.push(items);
    await new Promise<void>((resolve) => release.push(resolve));
    if (fail(items)) throw new Error(`refused ${items.join(',')}`);
    return items.map((item) => item * 10);
  };
  const releaseAll = async () => {
    while (release.length > 0 || groups.length === 0) {
      release.splice(0).forEach((go) => go());
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { groups, writeGroup, releaseAll };
}

describe('GroupCommitter', () => {
  it('writes the first call at once and groups the calls made meanwhile, in order', async () => {
    const writer = recordingWriter();
    const committer = new GroupCommitter(writer.writeGroup, 3);
    const results = [1, 2, 3, 4, 5, 6].map((item) => committer.submit(item));
    const done = Promise.all(results);
    await writer.releaseAll();
    expect(await done).toEqual([10, 20, 30, 40, 50, 60]);
    expect(writer.groups).toEqual([[1], [2, 3, 4], [5, 6]]);
  });

  it('writes a failed group again one item at a time: one bad item fails alone', async () => {
    const writer = recordingWriter((items) => items.includes(3));
    const committer = new GroupCommitter(writer.writeGroup, 10);
    const results = [1, 2, 3, 4].map((item) => committer.submit(item).catch((error: Error) => error.message));
    const done = Promise.all(results);
    await writer.releaseAll();
    expect(await done).toEqual([10, 20, 'refused 3', 40]);
    expect(writer.groups).toEqual([[1], [2, 3, 4], [2], [3], [4]]);
  });

  it('keeps working after a failure', async () => {
    const writer = recordingWriter((items) => items.includes(1));
    const committer = new GroupCommitter(writer.writeGroup, 10);
    const first = committer.submit(1).catch((error: Error) => error.message);
    await writer.releaseAll();
    expect(await first).toBe('refused 1');
    const second = committer.submit(2);
    await writer.releaseAll();
    expect(await second).toBe(20);
  });

  it('refuses a writer that answers the wrong number of results, per item', async () => {
    const committer = new GroupCommitter(async (items: number[]) => (items.length > 1 ? [1] : items), 10);
    const results = await Promise.all([committer.submit(7), committer.submit(8), committer.submit(9)]);
    expect(results).toEqual([7, 8, 9]);
  });
});
