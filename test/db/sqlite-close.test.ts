import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openMetadata } from '../../src/db/metadata.js';

describe('closing a SQLite database', () => {
  let dir: string;
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('returns only when no connection of it is left: the -wal and -shm files are gone', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-close-'));
    const path = join(dir, 'berth.db');
    const metadata = await openMetadata({ driver: 'sqlite', path });
    await metadata.projects.create({ name: 'p', public: false, ownerId: null, now: Date.now() });
    await metadata.ping();
    expect(existsSync(`${path}-wal`)).toBe(true);
    await metadata.close();
    // the last connection to close checkpoints and removes the WAL files; the checkpoint thread
    // holds one, so they are gone only once it has closed too
    expect(readdirSync(dir).sort()).toEqual(['berth.db']);
  });
});
