import type { Kysely } from 'kysely';
import type { BlobRecord } from '../../domain/records.js';
import type { BlobRepo } from '../../ports/metadata.js';
import type { PreparedQueries } from '../prepared.js';
import type { DB } from '../schema.js';

export class KyselyBlobRepo implements BlobRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly prepared: PreparedQueries,
  ) {}

  async put(digest: string, size: number, now: number): Promise<void> {
    await this.prepared.execute(
      this.db,
      'blobs.put',
      (db, p) => db.insertInto('blobs').values({ digest: p('digest'), size: p('size'), created_at: p('now') }).onConflict((oc) => oc.column('digest').doNothing()),
      { digest, size, now },
    );
  }

  async get(digest: string): Promise<BlobRecord | undefined> {
    const r = await this.prepared.first(this.db, 'blobs.get', (db, p) => db.selectFrom('blobs').selectAll().where('digest', '=', p('digest')), { digest });
    return r && { digest: r.digest, size: r.size, createdAt: r.created_at };
  }

  async getInRepository(repositoryId: number, digest: string): Promise<BlobRecord | undefined> {
    const r = await this.prepared.first(
      this.db,
      'blobs.getInRepository',
      (db, p) =>
        db
          .selectFrom('repository_blobs as rb')
          .innerJoin('blobs as b', 'b.digest', 'rb.digest')
          .select(['b.digest', 'b.size', 'b.created_at'])
          .where('rb.repository_id', '=', p('repo'))
          .where('rb.digest', '=', p('digest')),
      { repo: repositoryId, digest },
    );
    return r && { digest: r.digest, size: r.size, createdAt: r.created_at };
  }

  async link(repositoryId: number, digest: string, now: number): Promise<void> {
    await this.prepared.execute(
      this.db,
      'blobs.link',
      (db, p) =>
        db
          .insertInto('repository_blobs')
          .values({ repository_id: p('repo'), digest: p('digest'), created_at: p('now') })
          .onConflict((oc) => oc.columns(['repository_id', 'digest']).doNothing()),
      { repo: repositoryId, digest, now },
    );
  }

  async unlink(repositoryId: number, digest: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('repository_blobs')
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async missingInRepository(repositoryId: number, digests: readonly string[]): Promise<string[]> {
    const wanted = [...new Set(digests)];
    if (wanted.length === 0) return [];
    const present = new Set<string>();
    for (let i = 0; i < wanted.length; i += 500) {
      const rows = await this.db
        .selectFrom('repository_blobs')
        .select('digest')
        .where('repository_id', '=', repositoryId)
        .where('digest', 'in', wanted.slice(i, i + 500))
        .execute();
      for (const r of rows) present.add(r.digest);
    }
    return wanted.filter((d) => !present.has(d));
  }

  async repositoriesHolding(digest: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('repository_blobs as rb')
      .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
      .select('r.name')
      .where('rb.digest', '=', digest)
      .orderBy('r.name')
      .limit(limit)
      .execute();
    return rows.map((r) => r.name);
  }
}
