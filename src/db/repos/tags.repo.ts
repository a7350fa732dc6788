import type { Kysely } from 'kysely';
import type { TagRepo } from '../../ports/metadata.js';
import type { DB } from '../schema.js';

export class KyselyTagRepo implements TagRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async put(repositoryId: number, tag: string, manifestId: number, now: number): Promise<void> {
    await this.db
      .insertInto('tags')
      .values({ repository_id: repositoryId, name: tag, manifest_id: manifestId, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['repository_id', 'name']).doUpdateSet({ manifest_id: manifestId, updated_at: now }))
      .execute();
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
