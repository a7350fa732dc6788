import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemDriver } from '../../src/storage/filesystem/fs.driver.js';
import { describeStorageDriver } from '../suites/storage-driver.suite.js';

describeStorageDriver('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-fs-driver-'));
  return { driver: new FilesystemDriver({ root }), cleanup: () => rm(root, { recursive: true, force: true }) };
});
