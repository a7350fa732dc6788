import { type Kysely, sql } from 'kysely';
import type { CatalogRepo, RepositoryFilter, RepositoryInfo, RepositorySortKey, SortBy, Statistics, StatisticsScope } from '../../ports/catalog-repos.js';
import type { Page } from '../../ports/metadata.js';
import { nameMatches } from '../name-match.js';
import type { DB } from '../schema.js';

const SORT_COLUMN: Record<RepositorySortKey, string> = {
  name: 'r.name',
  creation_time: 'r.created_at',
  update_time: 'r.updated_at',
  pull_count: 'r.pull_count',
  id: 'r.id',
};

interface Row {
  id: number;
  project_id: number;
  project_name: string;
  project_public: number;
  name: string;
  description: string;
  pull_count: number;
  created_at: number;
  updated_at: number;
  artifact_count: number | null;
}

const toInfo = (r: Row): RepositoryInfo => ({
  id: r.id,
  projectId: r.project_id,
  projectName: r.project_name,
  projectPublic: r.project_public === 1,
  name: r.name,
  description: r.description,
  artifactCount: Number(r.artifact_count ?? 0),
  pullCount: r.pull_count,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class KyselyCatalogRepo implements CatalogRepo {
  constructor(private readonly db: Kysely<DB>) {}

  private from() {
    return this.db.selectFrom('repositories as r').innerJoin('projects as p', 'p.id', 'r.project_id');
  }

  private withInfo<Q extends ReturnType<KyselyCatalogRepo['from']>>(q: Q) {
    return q.select([
      'r.id',
      'r.project_id',
      'p.name as project_name',
      'p.public as project_public',
      'r.name',
      'r.description',
      'r.pull_count',
      'r.created_at',
      'r.updated_at',
      // the block counts of migration 006: one row per 1024 manifest ids, not per artifact
      sql<number | null>`(select cast(sum(ab.n) as bigint) from artifact_blocks ab where ab.repository_id = r.id)`.as('artifact_count'),
    ]);
  }

  async listRepositories(f: RepositoryFilter, sort: readonly SortBy<RepositorySortKey>[], page: { offset: number; limit: number }): Promise<Page<RepositoryInfo>> {
    let q = this.from();
    if (f.projectIds) q = q.where('r.project_id', 'in', f.projectIds.length ? f.projectIds : [-1]);
    const name = f.name;
    if (name) q = q.where((eb) => nameMatches(eb, sql.ref<string>('r.name'), name));
    const visible = f.visibleTo;
    if (visible) q = q.where((eb) => (visible.projectIds.length ? eb.or([eb('p.public', '=', 1), eb('r.project_id', 'in', visible.projectIds)]) : eb('p.public', '=', 1)));
    let rows = this.withInfo(q);
    for (const s of sort) rows = rows.orderBy(sql.ref(SORT_COLUMN[s.key]), s.desc ? 'desc' : 'asc');
    const [items, count] = await Promise.all([
      rows.orderBy('r.id', sort.at(-1)?.desc ? 'desc' : 'asc').limit(page.limit).offset(page.offset).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: items.map(toInfo), total: Number(count.n) };
  }

  async getRepository(name: string): Promise<RepositoryInfo | undefined> {
    const r = await this.withInfo(this.from()).where('r.name', '=', name).executeTakeFirst();
    return r && toInfo(r);
  }

  async setDescription(id: number, description: string, now: number): Promise<void> {
    await this.db.updateTable('repositories').set({ description, updated_at: now }).where('id', '=', id).execute();
  }

  async deleteRepository(id: number): Promise<{ manifests: number }> {
    const inRepo = this.db.selectFrom('manifests').select('id').where('repository_id', '=', id);
    // edges first, so the triggers of migration 006 see whole manifests while they count
    await this.db.deleteFrom('artifact_labels').where('manifest_id', 'in', inRepo).execute();
    await this.db.deleteFrom('tags').where('repository_id', '=', id).execute();
    await this.db.deleteFrom('manifest_children').where('manifest_id', 'in', inRepo).execute();
    await this.db.deleteFrom('manifest_blobs').where('manifest_id', 'in', inRepo).execute();
    const gone = await this.db.deleteFrom('manifests').where('repository_id', '=', id).executeTakeFirst();
    await this.db.deleteFrom('artifact_blocks').where('repository_id', '=', id).execute();
    await this.db.deleteFrom('repository_blobs').where('repository_id', '=', id).execute();
    await this.db.deleteFrom('uploads').where('repository_id', '=', id).execute();
    await this.db.deleteFrom('repositories').where('id', '=', id).execute();
    return { manifests: Number(gone.numDeletedRows) };
  }

  async statistics(scope: StatisticsScope): Promise<Statistics> {
    const projects = await this.db
      .selectFrom('projects')
      .select(['public', (eb) => eb.fn.countAll<number>().as('n')])
      .$if(!scope.all, (q) => q.where((eb) => eb.or([eb('public', '=', 1), eb('id', 'in', memberIds(scope))])))
      .groupBy('public')
      .execute();
    const repos = await this.db
      .selectFrom('repositories as r')
      .innerJoin('projects as p', 'p.id', 'r.project_id')
      .select(['p.public', (eb) => eb.fn.countAll<number>().as('n')])
      .$if(!scope.all, (q) => q.where((eb) => eb.or([eb('p.public', '=', 1), eb('p.id', 'in', memberIds(scope))])))
      .groupBy('p.public')
      .execute();
    const storage = scope.all
      ? Number((await this.db.selectFrom('blobs').select(sql<number>`cast(coalesce(sum(size), 0) as bigint)`.as('bytes')).executeTakeFirstOrThrow()).bytes)
      : 0;
    const of = (rows: { public: number; n: number }[], pub: number) => Number(rows.find((r) => r.public === pub)?.n ?? 0);
    return {
      publicProjects: of(projects, 1),
      privateProjects: of(projects, 0),
      publicRepositories: of(repos, 1),
      privateRepositories: of(repos, 0),
      storageBytes: storage,
    };
  }
}

function memberIds(scope: StatisticsScope): number[] {
  const ids = scope.all ? [] : [...scope.memberProjectIds];
  return ids.length ? ids : [-1];
}
