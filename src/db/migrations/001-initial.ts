import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  const id = pg ? 'bigserial' : 'integer';
  const big = pg ? 'bigint' : 'integer';
  // names sort in byte order on both dialects (tags/list and _catalog are lexically ordered)
  const name = pg ? sql`text collate "C"` : sql`text`;
  const bytes = pg ? 'bytea' : 'blob';

  await db.schema
    .createTable('users')
    .addColumn('id', id, (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('username', name, (c) => c.notNull().unique())
    .addColumn('email', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('realname', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('comment', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('sysadmin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('projects')
    .addColumn('id', id, (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('name', name, (c) => c.notNull().unique())
    .addColumn('public', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('owner_id', big, (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('repositories')
    .addColumn('id', id, (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('project_id', big, (c) => c.notNull().references('projects.id'))
    .addColumn('name', name, (c) => c.notNull().unique())
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('repositories_project').on('repositories').columns(['project_id', 'name']).execute();

  await db.schema
    .createTable('blobs')
    .addColumn('digest', 'text', (c) => c.primaryKey())
    .addColumn('size', big, (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('repository_blobs')
    .addColumn('repository_id', big, (c) => c.notNull().references('repositories.id').onDelete('cascade'))
    .addColumn('digest', 'text', (c) => c.notNull().references('blobs.digest'))
    .addColumn('created_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('repository_blobs_pk', ['repository_id', 'digest'])
    .execute();
  await db.schema.createIndex('repository_blobs_digest').on('repository_blobs').column('digest').execute();

  await db.schema
    .createTable('manifests')
    .addColumn('id', id, (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('repository_id', big, (c) => c.notNull().references('repositories.id').onDelete('cascade'))
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('media_type', 'text', (c) => c.notNull())
    .addColumn('artifact_type', 'text')
    .addColumn('size', big, (c) => c.notNull())
    .addColumn('subject_digest', 'text')
    .addColumn('annotations', 'text')
    .addColumn('content', bytes, (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addUniqueConstraint('manifests_repo_digest', ['repository_id', 'digest'])
    .execute();
  await db.schema.createIndex('manifests_subject').on('manifests').columns(['repository_id', 'subject_digest']).execute();

  await db.schema
    .createTable('manifest_blobs')
    .addColumn('manifest_id', big, (c) => c.notNull().references('manifests.id').onDelete('cascade'))
    .addColumn('digest', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('manifest_blobs_pk', ['manifest_id', 'digest'])
    .execute();
  await db.schema.createIndex('manifest_blobs_digest').on('manifest_blobs').column('digest').execute();

  await db.schema
    .createTable('manifest_children')
    .addColumn('manifest_id', big, (c) => c.notNull().references('manifests.id').onDelete('cascade'))
    .addColumn('child_digest', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('manifest_children_pk', ['manifest_id', 'child_digest'])
    .execute();
  await db.schema.createIndex('manifest_children_child').on('manifest_children').column('child_digest').execute();

  await db.schema
    .createTable('tags')
    .addColumn('repository_id', big, (c) => c.notNull().references('repositories.id').onDelete('cascade'))
    .addColumn('name', name, (c) => c.notNull())
    .addColumn('manifest_id', big, (c) => c.notNull().references('manifests.id').onDelete('cascade'))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('tags_pk', ['repository_id', 'name'])
    .execute();
  await db.schema.createIndex('tags_manifest').on('tags').column('manifest_id').execute();

  await db.schema
    .createTable('uploads')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('repository_id', big, (c) => c.notNull().references('repositories.id').onDelete('cascade'))
    .addColumn('size', big, (c) => c.notNull().defaultTo(0))
    .addColumn('segments', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addColumn('expires_at', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('uploads_expires').on('uploads').column('expires_at').execute();
}
