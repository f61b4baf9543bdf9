import type { Settings } from '../../config/settings.ts';
import { FilesystemObjectStore } from './filesystem-object-store.ts';
import type { ObjectStore } from './object-store.ts';
import { S3ObjectStore } from './s3-object-store.ts';

/** The object store the settings ask for; call init() on it before use. */
export function createObjectStore(config: Settings['objectStore']): ObjectStore {
  switch (config.kind) {
    case 'filesystem':
      return new FilesystemObjectStore(config.dir);
    case 's3':
      return new S3ObjectStore(config);
  }
}
