import { badRequest } from '../domain/errors.js';
import { type Principal, systemResource } from '../domain/permission.js';
import type { RepositoryInfo, Statistics } from '../ports/catalog-repos.js';
import type { Metadata } from '../ports/metadata.js';
import type { AccessService } from './access.service.js';
import type { ProjectService, ProjectView } from './project.service.js';
import { visibleProjects } from './project-visibility.js';

/** Search answers at most this many projects and repositories each (Harbor does not page it). */
export const SEARCH_LIMIT = 100;

export interface SearchResult {
  projects: ProjectView[];
  repositories: RepositoryInfo[];
}

export interface StatisticsView extends Statistics {
  /** totals are for system admins only, as in Harbor */
  totals: boolean;
}

/** Harbor's /search and /statistics, restricted to what the caller may see. */
export class SearchService {
  constructor(private readonly deps: { metadata: Metadata; access: AccessService; projects: ProjectService }) {}

  async search(viewer: Principal, q: string): Promise<SearchResult> {
    const term = q.trim();
    if (term === '') throw badRequest('q must not be empty');
    const visible = await visibleProjects(viewer, this.deps);
    const [projects, repositories] = await Promise.all([
      this.deps.projects.list(viewer, { nameLike: term, offset: 0, limit: SEARCH_LIMIT }),
      this.deps.metadata.catalog.listRepositories(
        { name: { fuzzy: term }, ...(visible.all ? {} : { visibleTo: { projectIds: visible.projectIds } }) },
        [{ key: 'name', desc: false }],
        { offset: 0, limit: SEARCH_LIMIT },
      ),
    ]);
    return { projects: projects.items, repositories: repositories.items };
  }

  /**
   * Counts of the projects and repositories the caller may see: public ones and (for a
   * non-admin) private ones it is a member of; totals and storage for system admins.
   */
  async statistics(viewer: Principal): Promise<StatisticsView> {
    const admin = await this.deps.access.authorize(viewer, 'read', systemResource('statistics'));
    if (admin) return { ...(await this.deps.metadata.catalog.statistics({ all: true })), totals: true };
    const visible = await visibleProjects(viewer, this.deps);
    const stats = await this.deps.metadata.catalog.statistics(visible.all ? { all: true } : { all: false, memberProjectIds: visible.projectIds });
    return { ...stats, storageBytes: 0, totals: false };
  }
}
