import type { FastifyInstance } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { badRequest } from '../../domain/errors.js';
import type { LabelService } from '../../services/label.service.js';
import { type AuthOptions, requireApi } from '../auth.js';
import { labelJson } from './catalog-json.js';
import { PagingQuery, pageWindow, setPageHeaders } from './paging.js';
import { actorOf } from './repositories.routes.js';

const LabelBody = T.Object(
  {
    name: T.Optional(T.String({ maxLength: 255 })),
    description: T.Optional(T.String({ maxLength: 4096 })),
    color: T.Optional(T.String({ maxLength: 16 })),
    scope: T.Optional(T.String({ maxLength: 1 })),
    project_id: T.Optional(T.Integer({ minimum: 0 })),
    // read-only fields Harbor clients send back
    id: T.Optional(T.Integer()),
    creation_time: T.Optional(T.String()),
    update_time: T.Optional(T.String()),
    deleted: T.Optional(T.Boolean()),
  },
  { additionalProperties: false },
);

const ListQuery = T.Object({
  ...PagingQuery,
  q: T.Optional(T.String({ maxLength: 4096 })),
  sort: T.Optional(T.String({ maxLength: 255 })),
  name: T.Optional(T.String({ maxLength: 255 })),
  scope: T.Optional(T.String({ maxLength: 1 })),
  project_id: T.Optional(T.Integer({ minimum: 0 })),
});

const IdParams = T.Object({ label_id: T.Integer({ minimum: 1 }) });

export async function labelRoutes(app: FastifyInstance, deps: { labels: LabelService; auth: AuthOptions }): Promise<void> {
  const { labels, auth } = deps;

  app.get<{ Querystring: Static<typeof ListQuery> }>('/api/v2.0/labels', { schema: { querystring: ListQuery } }, async (req, reply) => {
    const { scope, project_id: projectId, name } = req.query;
    if (req.query.q) throw badRequest('q is not supported here: use name, scope and project_id');
    await requireApi(req, auth, 'list', await labels.resourceFor(scope, scope === 'g' ? undefined : projectId));
    const w = pageWindow(req.query);
    const page = await labels.list(
      { scope: scope === 'p' ? 'p' : 'g', ...(scope === 'p' ? { projectId: projectId! } : {}), ...(name ? { name: { fuzzy: name } } : {}) },
      { offset: w.offset, limit: w.size },
    );
    setPageHeaders(req, reply, page.total, w.page, w.size);
    return page.items.map(labelJson);
  });

  app.post<{ Body: Static<typeof LabelBody> }>('/api/v2.0/labels', { schema: { body: LabelBody } }, async (req, reply) => {
    await requireApi(req, auth, 'create', await labels.resourceFor(req.body.scope ?? 'g', req.body.project_id));
    const label = await labels.create(actorOf(req), req.body);
    return reply.code(201).header('location', `/api/v2.0/labels/${label.id}`).send();
  });

  app.get<{ Params: Static<typeof IdParams> }>('/api/v2.0/labels/:label_id', { schema: { params: IdParams } }, async (req) => {
    const label = await labels.get(req.params.label_id);
    await requireApi(req, auth, 'read', await labels.resourceFor(label.scope, label.projectId));
    return labelJson(label);
  });

  app.put<{ Params: Static<typeof IdParams>; Body: Static<typeof LabelBody> }>(
    '/api/v2.0/labels/:label_id',
    { schema: { params: IdParams, body: LabelBody } },
    async (req) => {
      const label = await labels.get(req.params.label_id);
      await requireApi(req, auth, 'update', await labels.resourceFor(label.scope, label.projectId));
      await labels.update(actorOf(req), label.id, req.body);
      return {};
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>('/api/v2.0/labels/:label_id', { schema: { params: IdParams } }, async (req) => {
    const label = await labels.get(req.params.label_id);
    await requireApi(req, auth, 'delete', await labels.resourceFor(label.scope, label.projectId));
    await labels.delete(actorOf(req), label.id);
    return {};
  });
}
