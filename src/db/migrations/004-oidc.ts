import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * OIDC sign-in: the OIDC identity of onboarded users (as Harbor's oidc_user table: subject and
 * issuer, the CLI secret sealed with Berth's secret key), and short-lived pending sign-ins (the
 * state, nonce and PKCE verifier of an authorization request; the verified identity of a user
 * who still has to choose a username).
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  const big = pg ? 'bigint' : 'integer';
  const name = pg ? sql`text collate "C"` : sql`text`;

  await db.schema
    .createTable('oidc_users')
    .addColumn('user_id', big, (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    // `iss|sub`: a subject is unique only within its issuer (OIDC Core 1.0 §2)
    .addColumn('subiss', name, (c) => c.notNull().unique())
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    // 1 when sysadmin was granted by oidc_admin_group (and is taken back when the group goes)
    .addColumn('admin_by_group', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();

  // id is the sha256 of the state (or onboarding token): the table never holds a usable value
  await db.schema
    .createTable('oidc_pending')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('expires_at', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('oidc_pending_expires').on('oidc_pending').column('expires_at').execute();
}
