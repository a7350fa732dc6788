import type { Config } from '../config/schema.js';
import type { StorageDriver } from '../ports/storage-driver.js';
import { FilesystemDriver } from './filesystem/fs.driver.js';
import { resolve } from 'node:path';

type StorageConfig = Config['storage'];

/** Drivers by name; a typed map, not registration by import side effects. */
export const STORAGE_DRIVERS: Record<StorageConfig['driver'], (c: StorageConfig, dataDir: string) => Promise<StorageDriver>> = {
  filesystem: async (c, dataDir) => new FilesystemDriver({ root: resolve(c.filesystem.root ?? dataDir), fsync: c.filesystem.fsync }),
  s3: async (c) => {
    const { makeS3Driver } = await import('./s3/s3.driver.js');
    return makeS3Driver(c.s3);
  },
};
