import type { Kysely, Selectable } from 'kysely';
import type { Repository } from '../../domain/records.js';
import type { RepositoryRepo } from '../../ports/metadata.js';
import type { PreparedQueries } from '../prepared.js';
import type { DB, RepositoriesTable } from '../schema.js';

const toRepository = (r: Selectable<RepositoriesTable>): Repository => ({
  id: r.id,
  projectId: r.project_id,
  name: r.name,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class KyselyRepositoryRepo implements RepositoryRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly prepared: PreparedQueries,
  ) {}

  async getByName(name: string): Promise<Repository | undefined> {
    const r = await this.prepared.first(this.db, 'repositories.getByName', (db, p) => db.selectFrom('repositories').selectAll().where('name', '=', p('name')), { name });
    return r && toRepository(r);
  }

  async ensure(projectId: number, name: string, now: number): Promise<Repository> {
    const existing = await this.getByName(name);
    if (existing) return existing;
    // two first pushes of one repository may race: the loser's insert does nothing
    await this.db
      .insertInto('repositories')
      .values({ project_id: projectId, name, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const r = await this.getByName(name);
    if (!r) throw new Error(`repository ${name} vanished while being created`);
    return r;
  }

  async listNames(opts: { last?: string; limit: number }): Promise<string[]> {
    let q = this.db.selectFrom('repositories').select('name');
    if (opts.last !== undefined) q = q.where('name', '>', opts.last);
    const rows = await q.orderBy('name').limit(opts.limit).execute();
    return rows.map((r) => r.name);
  }

  async touch(id: number, now: number): Promise<void> {
    await this.prepared.execute(this.db, 'repositories.touch', (db, p) => db.updateTable('repositories').set({ updated_at: p('now') }).where('id', '=', p('id')), { id, now });
  }
}
