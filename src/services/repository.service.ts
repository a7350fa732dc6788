import { badRequest, isRegistryError, notFound } from '../domain/errors.js';
import { type Principal, principalName } from '../domain/permission.js';
import { anyOf, asInt, checkConditions, checkSort, parseQuery, parseSort } from '../domain/query.js';
import { parseRepoName, type RepoName } from '../domain/repo-name.js';
import type { RepositoryFilter, RepositoryInfo, RepositorySortKey, SortBy } from '../ports/catalog-repos.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata, Page } from '../ports/metadata.js';
import type { AccessService } from './access.service.js';
import { visibleProjects } from './project-visibility.js';

/** Who asks for a change, for the audit log. */
export interface Actor {
  principal: Principal;
  sourceIp: string;
}

export interface ListParams {
  q?: string;
  sort?: string;
  offset: number;
  limit: number;
}

const REPOSITORY_KEYS = { name: ['exact', 'fuzzy', 'or'], project_id: ['exact', 'or'] } as const;
const REPOSITORY_SORTS: readonly RepositorySortKey[] = ['name', 'creation_time', 'update_time', 'pull_count', 'id'];

/**
 * The full name of `repository_name` in `project`. Harbor's clients encode a `/` in the name
 * once (`a%2Fb`, decoded by the router) or twice (`a%252Fb`, which arrives as `a%2Fb`): the
 * second encoding is undone here. Repository names have no `%` of their own.
 */
export function repositoryNameOf(project: string, repository: string): RepoName {
  let name = repository;
  for (let i = 0; i < 2 && name.includes('%'); i++) {
    try {
      name = decodeURIComponent(name);
    } catch {
      throw badRequest(`repository name ${JSON.stringify(repository.slice(0, 200))} is not validly encoded`);
    }
  }
  try {
    const parsed = parseRepoName(`${project}/${name}`);
    if (parsed.project !== project) throw badRequest('the repository name does not belong to the project');
    return parsed;
  } catch (e) {
    if (isRegistryError(e) && e.code === 'NAME_INVALID') throw badRequest(e.message);
    throw e;
  }
}

/** Harbor's repositories: listing, description, deletion. */
export class RepositoryService {
  constructor(private readonly deps: { metadata: Metadata; access: AccessService; clock: Clock }) {}

  /** Repositories the viewer may see, of one project or of all. */
  async list(viewer: Principal, projectName: string | undefined, p: ListParams): Promise<Page<RepositoryInfo>> {
    const conds = parseQuery(p.q);
    checkConditions(conds, REPOSITORY_KEYS);
    const sort = parseSort(p.sort);
    checkSort(sort, REPOSITORY_SORTS);
    const filter: { -readonly [K in keyof RepositoryFilter]: RepositoryFilter[K] } = {};
    const name = conds.get('name');
    if (name) filter.name = name.op === 'fuzzy' ? { fuzzy: name.value } : { exact: anyOf(name)! };
    const projectId = conds.get('project_id');
    if (projectId) filter.projectIds = anyOf(projectId)!.map((v) => asInt('project_id', v));
    if (projectName !== undefined) {
      const project = await this.deps.metadata.projects.getByName(projectName);
      if (!project) throw notFound(`project ${projectName} not found`);
      filter.projectIds = filter.projectIds ? filter.projectIds.filter((id) => id === project.id) : [project.id];
    } else {
      const visible = await visibleProjects(viewer, this.deps);
      if (!visible.all) filter.visibleTo = { projectIds: visible.projectIds };
    }
    // Harbor lists the newest repositories first
    const order: SortBy<RepositorySortKey>[] = sort.length ? sort.map((s) => ({ key: s.key as RepositorySortKey, desc: s.desc })) : [{ key: 'creation_time', desc: true }];
    return this.deps.metadata.catalog.listRepositories(filter, order, { offset: p.offset, limit: p.limit });
  }

  async get(name: RepoName): Promise<RepositoryInfo> {
    const r = await this.deps.metadata.catalog.getRepository(name.value);
    if (!r) throw notFound(`repository ${name.value} not found`);
    return r;
  }

  async update(actor: Actor, name: RepoName, patch: { description?: string }): Promise<void> {
    const r = await this.get(name);
    if (patch.description === undefined) return;
    const description = patch.description;
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      await tx.catalog.setDescription(r.id, description, now);
      await tx.audit.append({
        operator: principalName(actor.principal),
        operation: 'update',
        resourceType: 'repository',
        resource: r.name,
        projectId: r.projectId,
        sourceIp: actor.sourceIp,
        result: 'success',
        at: now,
      });
    });
  }

  /** Deletes the repository, its artifacts and tags; blobs stay for garbage collection. */
  async delete(actor: Actor, name: RepoName): Promise<void> {
    const r = await this.get(name);
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      const { manifests } = await tx.catalog.deleteRepository(r.id);
      await tx.audit.append({
        operator: principalName(actor.principal),
        operation: 'delete',
        resourceType: 'repository',
        resource: r.name,
        projectId: r.projectId,
        sourceIp: actor.sourceIp,
        result: 'success',
        detail: { manifests },
        at: now,
      });
    });
  }
}
