import type { FastifyInstance } from 'fastify';
import { unauthorized } from '../../domain/errors.js';
import type { SearchService } from '../../services/search.service.js';

/** Harbor's /statistics: counts of what the caller may see; totals for system admins only. */
export async function statisticsRoutes(app: FastifyInstance, deps: { search: SearchService }): Promise<void> {
  app.get('/api/v2.0/statistics', async (req) => {
    if (req.principal.kind === 'anonymous') throw unauthorized('UnAuthorized');
    const s = await deps.search.statistics(req.principal);
    const projects = s.publicProjects + s.privateProjects;
    const repos = s.publicRepositories + s.privateRepositories;
    return {
      private_project_count: s.privateProjects,
      private_repo_count: s.privateRepositories,
      public_project_count: s.publicProjects,
      public_repo_count: s.publicRepositories,
      total_project_count: s.totals ? projects : 0,
      total_repo_count: s.totals ? repos : 0,
      total_storage_consumption: s.totals ? s.storageBytes : 0,
    };
  });
}
