import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The vulnerability database. Every import of a source (one OSV ecosystem, KEV, EPSS) writes a
 * new batch of rows beside the old one; `vulndb_sources.batch` names the batch readers see, and
 * one transaction moves it to the new batch and bumps the generation. Readers join on the
 * active batches, so they see the old data until the new data is complete, and an import that
 * fails leaves nothing but rows no source points at (removed by the importer or the next one).
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  const big = pg ? 'bigint' : 'integer';
  const real = pg ? 'double precision' : 'real';

  await db.schema
    .createTable('vulndb_state')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('generation', big, (c) => c.notNull())
    .execute();
  await sql`insert into vulndb_state (id, generation) values (1, 0)`.execute(db);

  await db.schema
    .createTable('vulndb_batches')
    .addColumn('id', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('vulndb_sources')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('batch', big)
    .addColumn('records', big, (c) => c.notNull().defaultTo(0))
    .addColumn('skipped', big, (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', big)
    .addColumn('checked_at', big)
    .addColumn('url', 'text')
    .addColumn('etag', 'text')
    .addColumn('last_modified', 'text')
    .addColumn('last_error', 'text')
    .execute();

  await db.schema
    .createTable('vulndb_advisories')
    .addColumn('batch', big, (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('aliases', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('modified', 'text')
    .addColumn('published', 'text')
    .addColumn('withdrawn', 'text')
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('cvss_version', 'text')
    .addColumn('cvss_vector', 'text')
    .addColumn('cvss_score', real)
    .addColumn('refs', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('vulndb_advisories_pk', ['batch', 'id'])
    .execute();

  // one row per affected[] entry; `name` is the name a package is looked up by (PEP 503 for PyPI)
  await db.schema
    .createTable('vulndb_affected')
    .addColumn('batch', big, (c) => c.notNull())
    .addColumn('advisory_id', 'text', (c) => c.notNull())
    .addColumn('ecosystem', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('vulndb_affected_lookup').on('vulndb_affected').columns(['ecosystem', 'name', 'batch']).execute();
  await db.schema.createIndex('vulndb_affected_batch').on('vulndb_affected').columns(['batch']).execute();

  await db.schema
    .createTable('vulndb_kev')
    .addColumn('batch', big, (c) => c.notNull())
    .addColumn('cve', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('vulndb_kev_pk', ['batch', 'cve'])
    .execute();

  await db.schema
    .createTable('vulndb_epss')
    .addColumn('batch', big, (c) => c.notNull())
    .addColumn('cve', 'text', (c) => c.notNull())
    .addColumn('score', real, (c) => c.notNull())
    .addColumn('percentile', real, (c) => c.notNull())
    .addPrimaryKeyConstraint('vulndb_epss_pk', ['batch', 'cve'])
    .execute();
}
