import type { Kysely } from 'kysely';
import type { Descriptor } from '../../domain/manifest.js';
import type { ManifestRecord, ManifestWithContent } from '../../domain/records.js';
import type { ManifestRepo, NewManifest } from '../../ports/metadata.js';
import type { PreparedQueries } from '../prepared.js';
import type { DB } from '../schema.js';
import { RECORD, toRecord } from './manifest-rows.js';

export class KyselyManifestRepo implements ManifestRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly prepared: PreparedQueries,
  ) {}

  async put(m: NewManifest): Promise<ManifestRecord> {
    const inserted = await this.prepared.first(
      this.db,
      'manifests.insert',
      (db, p) =>
        db
          .insertInto('manifests')
          .values({
            repository_id: p('repo'),
            digest: p('digest'),
            media_type: p('mediaType'),
            artifact_type: p('artifactType'),
            size: p('size'),
            subject_digest: p('subject'),
            annotations: p('annotations'),
            content: p('content'),
            created_at: p('now'),
          })
          .onConflict((oc) => oc.columns(['repository_id', 'digest']).doNothing())
          .returning('id'),
      {
        repo: m.repositoryId,
        digest: m.digest,
        mediaType: m.mediaType,
        artifactType: m.artifactType,
        size: m.size,
        subject: m.subjectDigest,
        annotations: m.annotations === null ? null : JSON.stringify(m.annotations),
        content: Buffer.from(m.content.buffer, m.content.byteOffset, m.content.byteLength),
        now: m.now,
      },
    );
    if (inserted) {
      const blobs = [...new Set(m.blobDigests)];
      const children = [...new Set(m.childDigests)];
      if (blobs.length) {
        await this.db.insertInto('manifest_blobs').values(blobs.map((digest) => ({ manifest_id: inserted.id, digest }))).execute();
      }
      if (children.length) {
        await this.db
          .insertInto('manifest_children')
          .values(children.map((child_digest) => ({ manifest_id: inserted.id, child_digest })))
          .execute();
      }
    }
    const row = await this.stat(m.repositoryId, m.digest);
    if (!row) throw new Error(`manifest ${m.digest} vanished while being stored`);
    return row;
  }

  async get(repositoryId: number, digest: string): Promise<ManifestWithContent | undefined> {
    const r = await this.prepared.first(
      this.db,
      'manifests.get',
      (db, p) => db.selectFrom('manifests as m').select([...RECORD, 'm.content']).where('m.repository_id', '=', p('repo')).where('m.digest', '=', p('digest')),
      { repo: repositoryId, digest },
    );
    return r && { ...toRecord(r), content: r.content };
  }

  async stat(repositoryId: number, digest: string): Promise<ManifestRecord | undefined> {
    const r = await this.prepared.first(
      this.db,
      'manifests.stat',
      (db, p) => db.selectFrom('manifests as m').select(RECORD).where('m.repository_id', '=', p('repo')).where('m.digest', '=', p('digest')),
      { repo: repositoryId, digest },
    );
    return r && toRecord(r);
  }

  async getByTag(repositoryId: number, tag: string): Promise<ManifestWithContent | undefined> {
    const r = await this.prepared.first(
      this.db,
      'manifests.getByTag',
      (db, p) =>
        db
          .selectFrom('tags as t')
          .innerJoin('manifests as m', 'm.id', 't.manifest_id')
          .select([...RECORD, 'm.content'])
          .where('t.repository_id', '=', p('repo'))
          .where('t.name', '=', p('tag')),
      { repo: repositoryId, tag },
    );
    return r && { ...toRecord(r), content: r.content };
  }

  async statByTag(repositoryId: number, tag: string): Promise<ManifestRecord | undefined> {
    const r = await this.prepared.first(
      this.db,
      'manifests.statByTag',
      (db, p) =>
        db
          .selectFrom('tags as t')
          .innerJoin('manifests as m', 'm.id', 't.manifest_id')
          .select(RECORD)
          .where('t.repository_id', '=', p('repo'))
          .where('t.name', '=', p('tag')),
      { repo: repositoryId, tag },
    );
    return r && toRecord(r);
  }

  async missingInRepository(repositoryId: number, digests: readonly string[]): Promise<string[]> {
    const wanted = [...new Set(digests)];
    if (wanted.length === 0) return [];
    const present = new Set<string>();
    for (let i = 0; i < wanted.length; i += 500) {
      const rows = await this.db
        .selectFrom('manifests')
        .select('digest')
        .where('repository_id', '=', repositoryId)
        .where('digest', 'in', wanted.slice(i, i + 500))
        .execute();
      for (const r of rows) present.add(r.digest);
    }
    return wanted.filter((d) => !present.has(d));
  }

  async delete(repositoryId: number, digest: string): Promise<boolean> {
    const m = await this.db
      .selectFrom('manifests')
      .select('id')
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    if (!m) return false;
    // explicit rather than relying on ON DELETE CASCADE being enabled on the connection
    await this.db.deleteFrom('tags').where('manifest_id', '=', m.id).execute();
    await this.db.deleteFrom('manifest_blobs').where('manifest_id', '=', m.id).execute();
    await this.db.deleteFrom('manifest_children').where('manifest_id', '=', m.id).execute();
    await this.db.deleteFrom('manifests').where('id', '=', m.id).execute();
    return true;
  }

  async referrers(repositoryId: number, subjectDigest: string, artifactType?: string): Promise<Descriptor[]> {
    let q = this.db
      .selectFrom('manifests')
      .select(['digest', 'media_type', 'artifact_type', 'size', 'annotations'])
      .where('repository_id', '=', repositoryId)
      .where('subject_digest', '=', subjectDigest);
    if (artifactType !== undefined) q = q.where('artifact_type', '=', artifactType);
    const rows = await q.orderBy('id').execute();
    return rows.map((r) => ({
      mediaType: r.media_type,
      digest: r.digest,
      size: r.size,
      ...(r.artifact_type !== null ? { artifactType: r.artifact_type } : {}),
      ...(r.annotations !== null ? { annotations: JSON.parse(r.annotations) as Record<string, string> } : {}),
    }));
  }
}
