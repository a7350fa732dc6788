import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import type { Dialect } from './dialect.js';
import * as m001 from './migrations/001-initial.js';

type Up = (db: Kysely<unknown>, dialect: Dialect) => Promise<void>;

/** Numbered, forward-only. Append; never edit one that has shipped. */
const MIGRATIONS: Record<string, { up: Up }> = {
  '001-initial': m001,
};

export async function migrate(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const provider: MigrationProvider = {
    getMigrations: async () =>
      Object.fromEntries(
        Object.entries(MIGRATIONS).map(([k, m]): [string, Migration] => [k, { up: (d) => m.up(d, dialect) }]),
      ),
  };
  const { error, results } = await new Migrator({ db, provider, migrationTableName: 'berth_migration', migrationLockTableName: 'berth_migration_lock' }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
