import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { projectResource } from '../../domain/permission.js';
import { type Actor, type RepositoryService, repositoryNameOf } from '../../services/repository.service.js';
import { type AuthOptions, requireApi } from '../auth.js';
import { repositoryJson } from './catalog-json.js';
import { PagingQuery, pageWindow, setPageHeaders } from './paging.js';

export const ListQuery = T.Object({
  ...PagingQuery,
  q: T.Optional(T.String({ maxLength: 4096 })),
  sort: T.Optional(T.String({ maxLength: 255 })),
});

const ProjectParams = T.Object({ project_name: T.String({ minLength: 1, maxLength: 255 }) });
/** repository_name is the part after the project; a `/` in it comes encoded (see repository-path.ts) */
export const RepositoryParams = T.Object({
  project_name: T.String({ minLength: 1, maxLength: 255 }),
  repository_name: T.String({ minLength: 1, maxLength: 1000 }),
});

// Harbor clients PUT the whole Repository object back; only the description changes
const RepositoryUpdate = T.Object(
  {
    description: T.Optional(T.String({ maxLength: 65_536 })),
    id: T.Optional(T.Integer()),
    project_id: T.Optional(T.Integer()),
    name: T.Optional(T.String()),
    artifact_count: T.Optional(T.Integer()),
    pull_count: T.Optional(T.Integer()),
    creation_time: T.Optional(T.String()),
    update_time: T.Optional(T.String()),
  },
  { additionalProperties: false },
);

export const actorOf = (req: FastifyRequest): Actor => ({ principal: req.principal, sourceIp: req.ip });

export async function repositoryRoutes(app: FastifyInstance, deps: { repositories: RepositoryService; auth: AuthOptions }): Promise<void> {
  const { repositories, auth } = deps;

  // every repository the caller may see: no one decision covers them all, so the listing is
  // restricted to the visible projects instead
  app.get<{ Querystring: Static<typeof ListQuery> }>('/api/v2.0/repositories', { schema: { querystring: ListQuery } }, async (req, reply) => {
    const w = pageWindow(req.query);
    const page = await repositories.list(req.principal, undefined, { ...req.query, offset: w.offset, limit: w.size });
    setPageHeaders(req, reply, page.total, w.page, w.size);
    return page.items.map(repositoryJson);
  });

  app.get<{ Params: Static<typeof ProjectParams>; Querystring: Static<typeof ListQuery> }>(
    '/api/v2.0/projects/:project_name/repositories',
    { schema: { params: ProjectParams, querystring: ListQuery } },
    async (req, reply) => {
      await requireApi(req, auth, 'list', projectResource(req.params.project_name, 'repository'));
      const w = pageWindow(req.query);
      const page = await repositories.list(req.principal, req.params.project_name, { ...req.query, offset: w.offset, limit: w.size });
      setPageHeaders(req, reply, page.total, w.page, w.size);
      return page.items.map(repositoryJson);
    },
  );

  const path = '/api/v2.0/projects/:project_name/repositories/:repository_name';

  app.get<{ Params: Static<typeof RepositoryParams> }>(path, { schema: { params: RepositoryParams } }, async (req) => {
    await requireApi(req, auth, 'read', projectResource(req.params.project_name, 'repository'));
    return repositoryJson(await repositories.get(repositoryNameOf(req.params.project_name, req.params.repository_name)));
  });

  app.put<{ Params: Static<typeof RepositoryParams>; Body: Static<typeof RepositoryUpdate> }>(
    path,
    { schema: { params: RepositoryParams, body: RepositoryUpdate } },
    async (req) => {
      await requireApi(req, auth, 'update', projectResource(req.params.project_name, 'repository'));
      const name = repositoryNameOf(req.params.project_name, req.params.repository_name);
      await repositories.update(actorOf(req), name, req.body.description !== undefined ? { description: req.body.description } : {});
      return {};
    },
  );

  app.delete<{ Params: Static<typeof RepositoryParams> }>(path, { schema: { params: RepositoryParams } }, async (req) => {
    await requireApi(req, auth, 'delete', projectResource(req.params.project_name, 'repository'));
    await repositories.delete(actorOf(req), repositoryNameOf(req.params.project_name, req.params.repository_name));
    return {};
  });
}
