import { type ColumnDefinitionBuilder, type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Identity and governance: external identities on users, groups, project members with roles,
 * project metadata, robot accounts, UI sessions, configuration, labels and the audit log.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  const id = pg ? 'bigserial' : 'integer';
  const big = pg ? 'bigint' : 'integer';
  const name = pg ? sql`text collate "C"` : sql`text`;
  const pk = (c: ColumnDefinitionBuilder) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement());

  // where a user comes from: db (local), ldap, oidc; external_id is the LDAP DN or OIDC subject
  await db.schema.alterTable('users').addColumn('auth_source', 'text', (c) => c.notNull().defaultTo('db')).execute();
  await db.schema.alterTable('users').addColumn('external_id', 'text').execute();
  await db.schema.alterTable('users').addColumn('cli_secret_hash', 'text').execute();
  await db.schema.alterTable('users').addColumn('password_version', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.createIndex('users_external').on('users').columns(['auth_source', 'external_id']).execute();

  await db.schema.alterTable('repositories').addColumn('description', 'text', (c) => c.notNull().defaultTo('')).execute();
  await db.schema.alterTable('repositories').addColumn('pull_count', big, (c) => c.notNull().defaultTo(0)).execute();

  // group_type as Harbor numbers it: 1 LDAP, 2 HTTP, 3 OIDC
  await db.schema
    .createTable('user_groups')
    .addColumn('id', id, pk)
    .addColumn('group_name', name, (c) => c.notNull())
    .addColumn('group_type', 'integer', (c) => c.notNull())
    .addColumn('ldap_group_dn', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addUniqueConstraint('user_groups_identity', ['group_type', 'group_name', 'ldap_group_dn'])
    .execute();

  // memberships of users in external groups, refreshed at each login from the directory
  await db.schema
    .createTable('user_group_links')
    .addColumn('user_id', big, (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('group_id', big, (c) => c.notNull().references('user_groups.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('user_group_links_pk', ['user_id', 'group_id'])
    .execute();
  await db.schema.createIndex('user_group_links_group').on('user_group_links').column('group_id').execute();

  // entity_type: u (user) or g (group), as Harbor spells it
  await db.schema
    .createTable('project_members')
    .addColumn('id', id, pk)
    .addColumn('project_id', big, (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('entity_type', 'text', (c) => c.notNull())
    .addColumn('entity_id', big, (c) => c.notNull())
    .addColumn('role', 'integer', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addUniqueConstraint('project_members_entity', ['project_id', 'entity_type', 'entity_id'])
    .execute();
  await db.schema.createIndex('project_members_entity_lookup').on('project_members').columns(['entity_type', 'entity_id']).execute();

  await db.schema
    .createTable('project_metadata')
    .addColumn('project_id', big, (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('project_metadata_pk', ['project_id', 'name'])
    .execute();

  await db.schema
    .createTable('robots')
    .addColumn('id', id, pk)
    .addColumn('name', name, (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('level', 'text', (c) => c.notNull())
    .addColumn('project_id', big, (c) => c.references('projects.id').onDelete('cascade'))
    .addColumn('duration_days', 'integer', (c) => c.notNull())
    .addColumn('expires_at', big, (c) => c.notNull())
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('creator', 'text', (c) => c.notNull())
    .addColumn('permissions', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('robots_project').on('robots').column('project_id').execute();

  // id is the sha256 of the cookie value: a leaked table does not give away sessions
  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', big, (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('expires_at', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();
  await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

  await db.schema
    .createTable('configurations')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();

  // scope g (global) or p (project)
  await db.schema
    .createTable('labels')
    .addColumn('id', id, pk)
    .addColumn('name', name, (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('color', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('project_id', big, (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addUniqueConstraint('labels_name', ['scope', 'project_id', 'name'])
    .execute();

  await db.schema
    .createTable('artifact_labels')
    .addColumn('manifest_id', big, (c) => c.notNull().references('manifests.id').onDelete('cascade'))
    .addColumn('label_id', big, (c) => c.notNull().references('labels.id').onDelete('cascade'))
    .addColumn('created_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('artifact_labels_pk', ['manifest_id', 'label_id'])
    .execute();
  await db.schema.createIndex('artifact_labels_label').on('artifact_labels').column('label_id').execute();

  // Append-only and hash-chained: hash = sha256(prev_hash || canonical row). Keyset pages by id;
  // time and operator lookups have their own indexes.
  await db.schema
    .createTable('audit_logs')
    .addColumn('id', id, pk)
    .addColumn('op_time', big, (c) => c.notNull())
    .addColumn('username', name, (c) => c.notNull())
    .addColumn('operation', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('project_id', big, (c) => c.notNull().defaultTo(0))
    .addColumn('source_ip', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_logs_time').on('audit_logs').columns(['op_time', 'id']).execute();
  await db.schema.createIndex('audit_logs_user').on('audit_logs').columns(['username', 'id']).execute();
  await db.schema.createIndex('audit_logs_project').on('audit_logs').columns(['project_id', 'id']).execute();
}
