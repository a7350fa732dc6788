import { randomUUID } from 'node:crypto';
import { type ColumnDefinitionBuilder, type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Harbor's pluggable scanners: adapter registrations (Harbor's scanner_registration) and the
 * scanner a project chose (Harbor keeps it as project metadata `projectScanner`; a table of its
 * own lets the choice go with a deleted registration by cascade). Berth's built-in scanner is a
 * registration too, so that listings, the default flag and project choices treat it alike; it
 * starts as the default.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  const id = pg ? 'bigserial' : 'integer';
  const big = pg ? 'bigint' : 'integer';
  const name = pg ? sql`text collate "C"` : sql`text`;
  const pk = (c: ColumnDefinitionBuilder) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement());

  await db.schema
    .createTable('scanner_registrations')
    .addColumn('id', id, pk)
    .addColumn('uuid', 'text', (c) => c.notNull().unique())
    .addColumn('name', name, (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('url', 'text', (c) => c.notNull().unique())
    .addColumn('auth', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('credential_sealed', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('skip_cert_verify', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('use_internal_addr', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('builtin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('project_scanners')
    .addColumn('project_id', big, (c) => c.primaryKey().references('projects.id').onDelete('cascade'))
    .addColumn('registration_id', big, (c) => c.notNull().references('scanner_registrations.id').onDelete('cascade'))
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('project_scanners_registration').on('project_scanners').column('registration_id').execute();

  const now = Date.now();
  await sql`
    insert into scanner_registrations (uuid, name, description, url, auth, credential_sealed, disabled, is_default, skip_cert_verify, use_internal_addr, builtin, created_at, updated_at)
    values (${randomUUID()}, 'Berth', 'Berth''s built-in scanner: layer inventories matched against the vulnerability database', 'berth://builtin', '', '', 0, 1, 0, 0, 1, ${now}, ${now})`.execute(db);
}
