/**
 * Who may touch an object key right now: ingest holds a lease on a key from before it writes the object until its
 * index step has ended (however long that takes); the sweep of unindexed objects deletes a key only under an
 * exclusive claim, which it gets only while no ingest holds the key, and which an ingest waits out before
 * writing. So an object being ingested (written, not yet indexed) is never deleted, and a re-send that rewrites a
 * key the sweep is deleting writes it after the deletion, never before.
 *
 * The leases live in the process: they coordinate the ingests and the sweep of one gateway process, which is how
 * Astreinte runs (several gateway processes over one object store would each need the others' leases).
 */
export class ObjectLeases {
  private readonly held = new Map<string, number>();
  private readonly deleting = new Map<string, Promise<void>>();

  /** Waits for a deletion of `key` under way, then holds the key until the returned release is called. */
  async hold(key: string): Promise<() => void> {
    for (let pending = this.deleting.get(key); pending; pending = this.deleting.get(key)) await pending;
    this.held.set(key, (this.held.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const count = (this.held.get(key) ?? 1) - 1;
      if (count > 0) this.held.set(key, count);
      else this.held.delete(key);
    };
  }

  isHeld(key: string): boolean {
    return this.held.has(key) || this.deleting.has(key);
  }

  /**
   * Runs `work` with `key` claimed exclusively, unless an ingest holds it (then `work` is not run and the answer
   * is undefined): ingests that ask for the key meanwhile wait until `work` has ended.
   */
  async exclusively<T>(key: string, work: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.isHeld(key)) return undefined;
    let done!: () => void;
    this.deleting.set(key, new Promise<void>((resolve) => (done = resolve)));
    try {
      return { value: await work() };
    } finally {
      this.deleting.delete(key);
      done();
    }
  }
}

/** The leases of this process, shared by its ingests (STOW-RS, C-STORE) and its sweep. */
export const processObjectLeases = new ObjectLeases();
