import type { Kysely, Selectable } from 'kysely';
import type { UploadSegment, UploadSession } from '../../domain/records.js';
import type { UploadRepo } from '../../ports/metadata.js';
import type { PreparedQueries } from '../prepared.js';
import type { DB, UploadsTable } from '../schema.js';

const toSession = (r: Selectable<UploadsTable>): UploadSession => ({
  id: r.id,
  repositoryId: r.repository_id,
  size: r.size,
  segments: JSON.parse(r.segments) as UploadSegment[],
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  expiresAt: r.expires_at,
});

export class KyselyUploadRepo implements UploadRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly prepared: PreparedQueries,
  ) {}

  async create(u: { id: string; repositoryId: number; now: number; expiresAt: number }): Promise<UploadSession> {
    const row = await this.db
      .insertInto('uploads')
      .values({ id: u.id, repository_id: u.repositoryId, size: 0, segments: '[]', created_at: u.now, updated_at: u.now, expires_at: u.expiresAt })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toSession(row);
  }

  async get(id: string): Promise<UploadSession | undefined> {
    const r = await this.prepared.first(this.db, 'uploads.get', (db, p) => db.selectFrom('uploads').selectAll().where('id', '=', p('id')), { id });
    return r && toSession(r);
  }

  async append(id: string, expectedSize: number, segment: UploadSegment, now: number, expiresAt: number): Promise<boolean> {
    const current = await this.db.selectFrom('uploads').select(['size', 'segments']).where('id', '=', id).executeTakeFirst();
    if (!current || current.size !== expectedSize) return false;
    // compare-and-set on the whole state read above, not on the size alone: an empty segment
    // leaves the size unchanged, and a size-only check would let a second writer overwrite it
    const segments = JSON.parse(current.segments) as UploadSegment[];
    const r = await this.db
      .updateTable('uploads')
      .set({
        size: expectedSize + segment.size,
        segments: JSON.stringify([...segments, segment]),
        updated_at: now,
        expires_at: expiresAt,
      })
      .where('id', '=', id)
      .where('size', '=', expectedSize)
      .where('segments', '=', current.segments)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async appendInline(id: string, expectedSize: number, data: Uint8Array, now: number, expiresAt: number): Promise<boolean> {
    const current = await this.get(id);
    if (!current) return false;
    const seq = current.segments.length;
    if (!(await this.append(id, expectedSize, { path: '', size: data.byteLength, inline: true }, now, expiresAt))) return false;
    await this.db
      .insertInto('upload_chunks')
      .values({ upload_id: id, seq, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) })
      .execute();
    return true;
  }

  async inlineData(id: string): Promise<Map<number, Buffer>> {
    const rows = await this.db.selectFrom('upload_chunks').select(['seq', 'data']).where('upload_id', '=', id).orderBy('seq').execute();
    return new Map(rows.map((r) => [r.seq, r.data]));
  }

  async delete(id: string): Promise<boolean> {
    // explicit rather than relying on ON DELETE CASCADE being enabled on the connection
    await this.db.deleteFrom('upload_chunks').where('upload_id', '=', id).execute();
    const r = await this.db.deleteFrom('uploads').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async listExpired(now: number, limit: number): Promise<UploadSession[]> {
    const rows = await this.db.selectFrom('uploads').selectAll().where('expires_at', '<', now).orderBy('expires_at').limit(limit).execute();
    return rows.map(toSession);
  }
}
