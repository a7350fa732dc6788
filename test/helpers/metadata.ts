import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseOptions } from '../../src/db/dialect.js';
import { openMetadata } from '../../src/db/metadata.js';
import type { Metadata } from '../../src/ports/metadata.js';
import { createTestSchema } from './postgres.js';

export interface TestMetadata {
  metadata: Metadata;
  /** how to open more connections to the same database */
  options: DatabaseOptions;
  /** closes the metadata and removes its database (the SQLite folder, the PostgreSQL schema) */
  cleanup(): Promise<void>;
}

/** Berth's metadata, migrated, on a SQLite file of its own or on a PostgreSQL schema of its own. */
export async function openTestMetadata(dialect: 'sqlite' | 'postgres', opts: { poolSize?: number } = {}): Promise<TestMetadata> {
  let options: DatabaseOptions;
  let drop: () => Promise<void>;
  if (dialect === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'berth-metadata-'));
    options = { driver: 'sqlite', path: join(dir, 'berth.db') };
    drop = () => rm(dir, { recursive: true, force: true });
  } else {
    const s = await createTestSchema();
    options = { driver: 'postgres', url: s.url, schema: s.schema, ...(opts.poolSize !== undefined ? { poolSize: opts.poolSize } : {}) };
    drop = () => s.drop();
  }
  const metadata = await openMetadata(options);
  return {
    metadata,
    options,
    cleanup: async () => {
      await metadata.close();
      await drop();
    },
  };
}
