import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Dialect } from './dialect.js';
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE } from './migration-tables.js';
import * as m001 from './migrations/001-initial.js';
import * as m002 from './migrations/002-upload-chunks.js';
import * as m003 from './migrations/003-identity.js';
import * as m004 from './migrations/004-oidc.js';
import * as m005 from './migrations/005-ldap.js';
import * as m006 from './migrations/006-catalog.js';
import * as m007 from './migrations/007-vulndb.js';
import * as m008 from './migrations/008-scan.js';
import * as m009 from './migrations/009-cve-allowlist.js';
import * as m010 from './migrations/010-scanners.js';
import * as m011 from './migrations/011-package-index.js';
import * as m012 from './migrations/012-catalog-trigger-plans.js';
import * as m013 from './migrations/013-finding-index.js';
import * as m014 from './migrations/014-cve-exports.js';

type Up = (db: Kysely<unknown>, dialect: Dialect) => Promise<void>;

/** Numbered, forward-only. Append; never edit one that has shipped. */
const MIGRATIONS: Record<string, { up: Up }> = {
  '001-initial': m001,
  '002-upload-chunks': m002,
  '003-identity': m003,
  '004-oidc': m004,
  '005-ldap': m005,
  '006-catalog': m006,
  '007-vulndb': m007,
  '008-scan': m008,
  '009-cve-allowlist': m009,
  '010-scanners': m010,
  '011-package-index': m011,
  '012-catalog-trigger-plans': m012,
  '013-finding-index': m013,
  '014-cve-exports': m014,
};

// Kysely runs migrations in name order, whatever order they are registered in above
export const MIGRATION_NAMES: readonly string[] = Object.keys(MIGRATIONS).sort();

/**
 * Brings the schema up to date. On PostgreSQL, instances that start at once are safe: Kysely
 * holds an advisory lock around reading the migration table and running what is pending, and
 * runs them in one transaction, so exactly one instance runs each migration. SQLite serves one
 * process (embedded mode); Kysely serialises its single connection and takes no lock.
 */
export async function migrate(db: Kysely<unknown>, dialect: Dialect, schema?: string): Promise<void> {
  const provider: MigrationProvider = {
    getMigrations: async () =>
      Object.fromEntries(
        Object.entries(MIGRATIONS).map(([k, m]): [string, Migration] => [k, { up: (d) => m.up(d, dialect) }]),
      ),
  };
  const { error, results } = await new Migrator({
    db,
    provider,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    // On PostgreSQL the schema is named explicitly, so that Kysely creates it when missing and
    // looks for its tables there only (with its stock introspector, another schema's
    // berth_migration would be taken for ours; src/db/schema-introspector.ts).
    ...(dialect === 'postgres' ? { migrationTableSchema: schema ?? (await currentSchema(db)) } : {}),
  }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

async function currentSchema(db: Kysely<unknown>): Promise<string> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  const schema = rows[0]?.schema;
  if (!schema) throw new Error('no schema of the search_path exists: create one or set database.schema');
  return schema;
}
