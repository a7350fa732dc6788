import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * LDAP sign-in: the directory identity of onboarded users (their DN, also kept in
 * users.external_id) and whether their sysadmin flag came from Harbor's ldap_group_admin_dn, so
 * that leaving the admin group takes it back while a flag an administrator set by hand stays.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  const big = pg ? 'bigint' : 'integer';
  const name = pg ? sql`text collate "C"` : sql`text`;

  await db.schema
    .createTable('ldap_users')
    .addColumn('user_id', big, (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    // normalised (lower case, no spaces around separators): DNs compare case-insensitively
    .addColumn('dn', name, (c) => c.notNull().unique())
    .addColumn('admin_by_group', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();
}
