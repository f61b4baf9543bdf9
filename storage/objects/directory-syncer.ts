import { open, type FileHandle } from 'node:fs/promises';

interface DirectoryState {
  handle: Promise<FileHandle>;
  /** Bumped by every caller: a sync started at generation g covers every entry change made before g. */
  generation: number;
  syncedGeneration: number;
  inFlight: Promise<void> | null;
  lastUsed: number;
}

const MAX_OPEN_DIRECTORIES = 64;

/**
 * fsyncs directories so that renamed-in entries are durable, sharing the work between concurrent callers: a
 * caller that renamed a file into a directory needs one fsync of that directory that STARTED after its rename.
 * While one fsync runs, later callers wait for it and then share the next one. Directory handles of recently
 * used directories stay open (at most 64).
 */
export class DirectorySyncer {
  private readonly directories = new Map<string, DirectoryState>();

  async sync(dir: string): Promise<void> {
    const state = this.stateOf(dir);
    state.lastUsed = Date.now();
    const needed = ++state.generation;
    while (state.syncedGeneration < needed) {
      if (!state.inFlight) {
        const covers = state.generation;
        state.inFlight = state.handle
          .then((h) => h.sync())
          .then(() => {
            state.syncedGeneration = Math.max(state.syncedGeneration, covers);
          })
          .finally(() => {
            state.inFlight = null;
          });
      }
      await state.inFlight;
    }
  }

  async close(): Promise<void> {
    const states = [...this.directories.values()];
    this.directories.clear();
    await Promise.all(states.map(async (s) => (await s.handle.catch(() => undefined))?.close()));
  }

  private stateOf(dir: string): DirectoryState {
    let state = this.directories.get(dir);
    if (!state) {
      this.evictIdle();
      const handle = open(dir, 'r');
      handle.catch(() => this.directories.delete(dir));
      state = { handle, generation: 0, syncedGeneration: 0, inFlight: null, lastUsed: Date.now() };
      this.directories.set(dir, state);
    }
    return state;
  }

  private evictIdle(): void {
    if (this.directories.size < MAX_OPEN_DIRECTORIES) return;
    const idle = [...this.directories.entries()]
      .filter(([, s]) => s.inFlight === null && s.generation === s.syncedGeneration)
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed)
      .slice(0, this.directories.size - MAX_OPEN_DIRECTORIES + 1);
    for (const [dir, s] of idle) {
      this.directories.delete(dir);
      void s.handle.then((h) => h.close()).catch(() => undefined);
    }
  }
}
