/**
 * Group commit for independent writes: calls made while a group is being written wait, then go together in the
 * next group (one statement, one round trip, one commit). Concurrent writers then share round trips and WAL
 * flushes instead of each paying its own: on a small machine, waking PostgreSQL and waiting for its commit
 * cost more than the work of the statement itself.
 *
 * A group that fails is written again one item at a time, so that each caller gets its own outcome or error
 * and one bad item never fails the others.
 */
export class GroupCommitter<Item, Result> {
  private readonly queue: { item: Item; resolve(result: Result): void; reject(error: unknown): void }[] = [];
  private writing = false;

  /**
   * @param writeGroup writes the items in one transaction and returns one result per item, in order; it must
   *   write nothing when it throws (a single statement, or a transaction rolled back).
   * @param maxGroup most items in one group.
   */
  constructor(
    private readonly writeGroup: (items: Item[]) => Promise<Result[]>,
    private readonly maxGroup: number,
  ) {}

  submit(item: Item): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.queue.length > 0) await this.write(this.queue.splice(0, this.maxGroup));
    } finally {
      this.writing = false;
    }
  }

  private async write(group: typeof this.queue): Promise<void> {
    try {
      const results = await this.writeGroup(group.map((entry) => entry.item));
      if (results.length !== group.length) throw new Error(`a group of ${group.length} writes returned ${results.length} results`);
      group.forEach((entry, index) => entry.resolve(results[index]));
    } catch (error) {
      if (group.length === 1) {
        group[0].reject(error);
        return;
      }
      for (const entry of group) {
        try {
          entry.resolve((await this.writeGroup([entry.item]))[0]);
        } catch (itemError) {
          entry.reject(itemError);
        }
      }
    }
  }
}
