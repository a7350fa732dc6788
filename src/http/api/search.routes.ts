import type { FastifyInstance } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import type { SearchService } from '../../services/search.service.js';
import { projectJson } from './projects.routes.js';

const SearchQuery = T.Object({ q: T.String({ minLength: 1, maxLength: 255 }) });

/** Harbor's /search: projects and repositories whose names contain q, among those the caller may see. */
export async function searchRoutes(app: FastifyInstance, deps: { search: SearchService }): Promise<void> {
  app.get<{ Querystring: Static<typeof SearchQuery> }>('/api/v2.0/search', { schema: { querystring: SearchQuery } }, async (req) => {
    const r = await deps.search.search(req.principal, req.query.q);
    return {
      project: r.projects.map((p) => projectJson(p)),
      repository: r.repositories.map((x) => ({
        project_id: x.projectId,
        project_name: x.projectName,
        project_public: x.projectPublic,
        repository_name: x.name,
        pull_count: x.pullCount,
        artifact_count: x.artifactCount,
      })),
    };
  });
}
