import { type Expression, type ExpressionBuilder, sql, type SqlBool } from 'kysely';
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
