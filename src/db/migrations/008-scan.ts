import { type ColumnDefinitionBuilder, type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The job queue (an outbox: rows are written in the transaction of the change that causes them)
 * and the scan pipeline's records: layer inventories stored once per layer digest and analyzer
 * version, the merged inventory of each artifact, its scan result with the summary kept
 * denormalised for listings, verdict-change events, and the scan-all schedule.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  const id = pg ? 'bigserial' : 'integer';
  const big = pg ? 'bigint' : 'integer';
  const pk = (c: ColumnDefinitionBuilder) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement());

  await db.schema
    .createTable('jobs')
    .addColumn('id', id, pk)
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('dedupe_key', 'text')
    // pending -> running -> done | failed; pending | running -> cancelled
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('run_at', big, (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', big)
    .addColumn('last_error', 'text')
    .addColumn('batch_id', big)
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jobs_claim').on('jobs').columns(['state', 'run_at']).execute();
  await db.schema.createIndex('jobs_batch').on('jobs').columns(['batch_id', 'state']).execute();
  // one live job per dedupe key (one pending scan per artifact): enqueue joins it
  await sql`create unique index jobs_dedupe on jobs (dedupe_key) where state in ('pending', 'running')`.execute(db);

  await db.schema
    .createTable('layer_inventories')
    .addColumn('layer_digest', 'text', (c) => c.notNull())
    .addColumn('analyzer_version', 'text', (c) => c.notNull())
    .addColumn('inventory', 'text', (c) => c.notNull())
    .addColumn('package_count', 'integer', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('layer_inventories_pk', ['layer_digest', 'analyzer_version'])
    .execute();

  await db.schema
    .createTable('artifact_inventories')
    .addColumn('manifest_id', big, (c) => c.primaryKey().references('manifests.id').onDelete('cascade'))
    .addColumn('analyzer_version', 'text', (c) => c.notNull())
    .addColumn('inventory', 'text', (c) => c.notNull())
    .addColumn('image', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('artifact_scans')
    .addColumn('manifest_id', big, (c) => c.primaryKey().references('manifests.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('report_id', 'text', (c) => c.notNull())
    .addColumn('scanner', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('job_id', big)
    .addColumn('generation', big)
    .addColumn('findings', 'text')
    .addColumn('highest', 'text')
    .addColumn('total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('fixable', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('summary', 'text')
    .addColumn('error', 'text')
    .addColumn('started_at', big)
    .addColumn('ended_at', big)
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();

  // no foreign key: the history outlives a deleted artifact
  await db.schema
    .createTable('scan_verdict_events')
    .addColumn('id', id, pk)
    .addColumn('manifest_id', big, (c) => c.notNull())
    .addColumn('repository_id', big, (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('previous_highest', 'text', (c) => c.notNull())
    .addColumn('highest', 'text', (c) => c.notNull())
    .addColumn('previous_summary', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('generation', big, (c) => c.notNull())
    .addColumn('at', big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('scan_schedules')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('cron', 'text', (c) => c.notNull())
    .addColumn('next_run_at', big)
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('scan_all_runs')
    .addColumn('id', id, pk)
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', big, (c) => c.notNull())
    .addColumn('ended_at', big)
    .execute();
}
