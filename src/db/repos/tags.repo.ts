import type { Kysely } from 'kysely';
import type { TagRepo } from '../../ports/metadata.js';
import type { PreparedQueries } from '../prepared.js';
import type { DB } from '../schema.js';

export class KyselyTagRepo implements TagRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly prepared: PreparedQueries,
  ) {}

  async put(repositoryId: number, tag: string, manifestId: number, now: number): Promise<void> {
    await this.prepared.execute(
      this.db,
      'tags.put',
      (db, p) =>
        db
          .insertInto('tags')
          .values({ repository_id: p('repo'), name: p('tag'), manifest_id: p('manifest'), created_at: p('now'), updated_at: p('now') })
          .onConflict((oc) => oc.columns(['repository_id', 'name']).doUpdateSet({ manifest_id: p('manifest'), updated_at: p('now') })),
      { repo: repositoryId, tag, manifest: manifestId, now },
    );
  }

  async delete(repositoryId: number, tag: string): Promise<boolean> {
    const r = await this.db.deleteFrom('tags').where('repository_id', '=', repositoryId).where('name', '=', tag).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async list(repositoryId: number, opts: { last?: string; limit: number }): Promise<string[]> {
    let q = this.db.selectFrom('tags').select('name').where('repository_id', '=', repositoryId);
    if (opts.last !== undefined) q = q.where('name', '>', opts.last);
    const rows = await q.orderBy('name').limit(opts.limit).execute();
    return rows.map((r) => r.name);
  }
}
