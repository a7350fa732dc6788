import { type Expression, type ExpressionBuilder, type Insertable, type Kysely, sql, type SqlBool } from 'kysely';
import type { ManifestRecord } from '../../domain/records.js';
import type { DB } from '../schema.js';

/** The manifest columns of a ManifestRecord (all but the content), on the alias `m`. */
export const RECORD = ['m.id', 'm.repository_id', 'm.digest', 'm.media_type', 'm.artifact_type', 'm.size', 'm.subject_digest', 'm.annotations', 'm.created_at'] as const;

export interface RecordRow {
  id: number;
  repository_id: number;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  size: number;
  subject_digest: string | null;
  annotations: string | null;
  created_at: number;
}

export const toRecord = (r: RecordRow): ManifestRecord => ({
  id: r.id,
  repositoryId: r.repository_id,
  digest: r.digest,
  mediaType: r.media_type,
  artifactType: r.artifact_type,
  size: r.size,
  subjectDigest: r.subject_digest,
  annotations: r.annotations === null ? null : (JSON.parse(r.annotations) as Record<string, string>),
  createdAt: r.created_at,
});

/** An expression builder over `manifests as m`. */
export type ManifestEB = ExpressionBuilder<DB & { m: DB['manifests'] }, 'm'>;

/**
 * The listed (root) artifacts: neither an accessory nor the child of an index of the repository.
 * CROSS JOIN: SQLite then drives the parent lookup from manifest_children by child digest; with
 * an inner join its planner walked every manifest of the repository for each candidate row (a
 * page of a 1,000,000-artifact repository took 49 s). PostgreSQL plans both alike.
 */
export const listed = (eb: ManifestEB): Expression<SqlBool> =>
  eb.and([
    eb('m.subject_digest', 'is', null),
    eb.not(
      eb.exists(
        eb
          .selectFrom('manifest_children as pc')
          .crossJoin('manifests as pm')
          .whereRef('pm.id', '=', 'pc.manifest_id')
          .select(sql.lit(1).as('x'))
          .whereRef('pc.child_digest', '=', 'm.digest')
          .whereRef('pm.repository_id', '=', 'm.repository_id'),
      ),
    ),
  ]);

/** Who a manifest belongs to, for the rows an index derives from it. */
export interface ManifestOwner {
  repository_id: number;
  project_id: number;
  media_type: string;
}

/**
 * Replaces the rows one artifact has in a table derived from it (the package index, the finding
 * index): one delete and batched inserts, in the caller's transaction or in one of its own, so
 * that a reader sees the old rows or the new ones, never a mix. `rowsOf` is given the manifest's
 * owner; a manifest deleted meanwhile gets no rows.
 */
export async function replaceArtifactRows<T extends 'artifact_packages' | 'artifact_findings'>(
  db: Kysely<DB>,
  table: T,
  manifestId: number,
  batch: number,
  rowsOf: (owner: ManifestOwner) => Insertable<DB[T]>[],
): Promise<void> {
  const run = async (tx: Kysely<DB>) => {
    const owner = await tx
      .selectFrom('manifests as m')
      .innerJoin('repositories as r', 'r.id', 'm.repository_id')
      .select(['m.repository_id', 'r.project_id', 'm.media_type'])
      .where('m.id', '=', manifestId)
      .executeTakeFirst();
    // both tables key their rows by manifest_id
    await tx.deleteFrom(table as 'artifact_packages').where('manifest_id', '=', manifestId).execute();
    if (!owner) return;
    const rows = rowsOf(owner);
    for (let i = 0; i < rows.length; i += batch) {
      await tx.insertInto(table).values(rows.slice(i, i + batch) as never).execute();
    }
  };
  if (db.isTransaction) await run(db);
  else await db.transaction().execute(run);
}

/** The tag names of each manifest, in name order (manifest ids in batches of 500). */
export async function tagNamesOf(db: Kysely<DB>, manifestIds: readonly number[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  const ids = [...new Set(manifestIds)];
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.selectFrom('tags').select(['manifest_id', 'name']).where('manifest_id', 'in', ids.slice(i, i + 500)).orderBy('name').execute();
    for (const r of rows) {
      const id = Number(r.manifest_id);
      const list = out.get(id);
      if (list) list.push(r.name);
      else out.set(id, [r.name]);
    }
  }
  return out;
}
