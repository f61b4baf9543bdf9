/**
 * WADO-RS metadata answers already built, kept while they are valid: a viewer opening a series asks for its
 * metadata, and so does the next reader of that study, or the same one reopening it. An entry is reused only
 * when the index's version of the same query (DicomIndex.metadataVersion: instance count and newest row) is
 * unchanged, so an instance added since is never missed, and access is checked by that query on every request.
 * Bounded by total bytes, least recently used entries dropped first.
 */
export class MetadataCache {
  private readonly entries = new Map<string, { version: string; document: Buffer }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string, version: string): Buffer | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.version !== version) {
      this.bytes -= entry.document.length;
      return undefined;
    }
    this.entries.set(key, entry); // most recently used last
    return entry.document;
  }

  set(key: string, version: string, document: Buffer): void {
    const previous = this.entries.get(key);
    if (previous) {
      this.entries.delete(key);
      this.bytes -= previous.document.length;
    }
    if (document.length > this.maxBytes / 4) return; // one huge study must not evict everything else
    this.entries.set(key, { version, document });
    this.bytes += document.length;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.document.length;
    }
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}
