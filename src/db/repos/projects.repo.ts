import { type Kysely, type Selectable, sql } from 'kysely';
import { conflict } from '../../domain/errors.js';
import type { Project } from '../../domain/records.js';
import type { Page, ProjectFilter, ProjectRepo } from '../../ports/metadata.js';
import { isForeignKeyViolation, isUniqueViolation } from '../errors.js';
import type { DB, ProjectsTable } from '../schema.js';

const toProject = (r: Selectable<ProjectsTable>): Project => ({
  id: r.id,
  name: r.name,
  public: r.public === 1,
  ownerId: r.owner_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class KyselyProjectRepo implements ProjectRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async create(p: { name: string; public: boolean; ownerId: number | null; now: number }): Promise<Project> {
    try {
      const row = await this.db
        .insertInto('projects')
        .values({ name: p.name, public: p.public ? 1 : 0, owner_id: p.ownerId, created_at: p.now, updated_at: p.now })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toProject(row);
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`The project named ${p.name} already exists`, { name: p.name });
      throw e;
    }
  }

  async getByName(name: string): Promise<Project | undefined> {
    const r = await this.db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst();
    return r && toProject(r);
  }

  async getById(id: number): Promise<Project | undefined> {
    const r = await this.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toProject(r);
  }

  async list(f: ProjectFilter, page: { offset: number; limit: number }): Promise<Page<Project>> {
    let q = this.db.selectFrom('projects');
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    if (f.nameLike !== undefined) {
      // the input is literal: its own % and _ are escaped. Case-insensitive like Harbor's fuzzy
      // match; lower() on both sides because SQLite's LIKE ignores ASCII case and PostgreSQL's
      // does not.
      const pattern = `%${f.nameLike.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      q = q.where(sql<boolean>`lower(name) like lower(${pattern}) escape '\\'`);
    }
    if (f.public !== undefined) q = q.where('public', '=', f.public ? 1 : 0);
    if (f.visibleTo) {
      const ids = f.visibleTo.projectIds;
      q = q.where((eb) => (ids.length ? eb.or([eb('public', '=', 1), eb('id', 'in', ids)]) : eb('public', '=', 1)));
    }
    const [rows, count] = await Promise.all([
      q.selectAll().orderBy('name').limit(page.limit).offset(page.offset).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(toProject), total: Number(count.n) };
  }

  async update(id: number, patch: { public?: boolean; now: number }): Promise<void> {
    await this.db
      .updateTable('projects')
      .set({ updated_at: patch.now, ...(patch.public !== undefined ? { public: patch.public ? 1 : 0 } : {}) })
      .where('id', '=', id)
      .execute();
  }

  async deleteIfEmpty(id: number): Promise<boolean> {
    try {
      const r = await this.db
        .deleteFrom('projects')
        .where('id', '=', id)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('repositories').select('id').where('project_id', '=', id))))
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    } catch (e) {
      // a first push created a repository after the check saw none (PostgreSQL, READ COMMITTED)
      if (isForeignKeyViolation(e)) return false;
      throw e;
    }
  }

  async metadataOf(id: number): Promise<Record<string, string>> {
    const rows = await this.db.selectFrom('project_metadata').select(['name', 'value']).where('project_id', '=', id).execute();
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  }

  async setMetadata(id: number, entries: Readonly<Record<string, string>>): Promise<void> {
    for (const [name, value] of Object.entries(entries)) {
      await this.db
        .insertInto('project_metadata')
        .values({ project_id: id, name, value })
        .onConflict((oc) => oc.columns(['project_id', 'name']).doUpdateSet({ value }))
        .execute();
    }
  }

  async deleteMetadata(id: number, name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('project_metadata').where('project_id', '=', id).where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async repositoryCount(id: number): Promise<number> {
    const r = await this.db
      .selectFrom('repositories')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project_id', '=', id)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
