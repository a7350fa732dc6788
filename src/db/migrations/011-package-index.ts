import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The registry-wide package index behind inventory search (GET /api/v2.0/packages): one row per
 * package occurrence of an artifact's stored inventory. Rows go with their manifest (cascade);
 * the repository and project ids are copied in so that a search filters by visibility without
 * touching the manifests table. Lookups are by (type, name[, namespace]); versions are compared
 * in code, in the ecosystem's own order, since no SQL collation knows dpkg or PEP 440 order.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('artifact_packages')
    .addColumn('manifest_id', big, (c) => c.notNull().references('manifests.id').onDelete('cascade'))
    .addColumn('repository_id', big, (c) => c.notNull())
    .addColumn('project_id', big, (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('namespace', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('purl', 'text', (c) => c.notNull())
    .addColumn('layer_digest', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .execute();
  // equality on type and name, then namespace when the query names one, then the artifacts in
  // id order; version and the owners ride along so that a search over thousands of artifacts
  // reads this index alone (contiguous entries) and not one table row per artifact
  await db.schema
    .createIndex('artifact_packages_lookup')
    .on('artifact_packages')
    .columns(['type', 'name', 'namespace', 'manifest_id', 'version', 'project_id', 'repository_id'])
    .execute();
  await db.schema.createIndex('artifact_packages_manifest').on('artifact_packages').column('manifest_id').execute();
}
