import type { FastifyInstance } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { projectResource } from '../../domain/permission.js';
import type { ViewOptions } from '../../services/artifact-views.js';
import { type ArtifactService, parseCopySource } from '../../services/artifact.service.js';
import { repositoryNameOf } from '../../services/repository.service.js';
import { type AuthOptions, requireApi } from '../auth.js';
import { artifactJson, tagJson } from './catalog-json.js';
import { pageWindow, setPageHeaders } from './paging.js';
import { acceptedReportMimes } from './scan-json.js';
import { actorOf, ListQuery, RepositoryParams } from './repositories.routes.js';

const WithOptions = {
  with_tag: T.Optional(T.Boolean({ default: true })),
  with_label: T.Optional(T.Boolean({ default: false })),
  with_scan_overview: T.Optional(T.Boolean({ default: false })),
  with_sbom_overview: T.Optional(T.Boolean({ default: false })),
  with_signature: T.Optional(T.Boolean({ default: false })),
  with_immutable_status: T.Optional(T.Boolean({ default: false })),
  with_accessory: T.Optional(T.Boolean({ default: false })),
};
const ArtifactListQuery = T.Object({ ...ListQuery.properties, ...WithOptions });
const ArtifactGetQuery = T.Object({ page: T.Optional(T.Integer()), page_size: T.Optional(T.Integer()), ...WithOptions });
const TagListQuery = T.Object({ ...ListQuery.properties, with_signature: T.Optional(T.Boolean()), with_immutable_status: T.Optional(T.Boolean()) });
const CopyQuery = T.Object({ from: T.String({ minLength: 3, maxLength: 1200 }) });

const ArtifactParams = T.Object({ ...RepositoryParams.properties, reference: T.String({ minLength: 1, maxLength: 200 }) });
const TagParams = T.Object({ ...ArtifactParams.properties, tag_name: T.String({ minLength: 1, maxLength: 200 }) });
const LabelParams = T.Object({ ...ArtifactParams.properties, label_id: T.Integer({ minimum: 1 }) });
// Harbor's Tag and Label objects: only `name` (a tag) and `id` (a label) are read
const TagBody = T.Object({ name: T.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: true });
const LabelRef = T.Object({ id: T.Integer({ minimum: 1 }) }, { additionalProperties: true });

type WithQuery = { [K in keyof typeof WithOptions]?: boolean };
const viewOptions = (q: WithQuery, acceptVulnerabilities?: string | string[]): ViewOptions => ({
  ...(q.with_scan_overview ? { scanOverviewMimes: acceptedReportMimes(acceptVulnerabilities) } : {}),
  withTag: q.with_tag ?? true,
  withLabel: q.with_label ?? false,
  withAccessory: q.with_accessory ?? false,
  withSignature: q.with_signature ?? false,
  withImmutableStatus: q.with_immutable_status ?? false,
});

const BASE = '/api/v2.0/projects/:project_name/repositories/:repository_name/artifacts';

export async function artifactRoutes(app: FastifyInstance, deps: { artifacts: ArtifactService; auth: AuthOptions }): Promise<void> {
  const { artifacts, auth } = deps;
  const inProject = (p: { project_name: string }, r: Parameters<typeof projectResource>[1]) => projectResource(p.project_name, r);
  const nameOf = (p: Static<typeof RepositoryParams>) => repositoryNameOf(p.project_name, p.repository_name);

  app.get<{ Params: Static<typeof RepositoryParams>; Querystring: Static<typeof ArtifactListQuery> }>(
    BASE,
    { schema: { params: RepositoryParams, querystring: ArtifactListQuery } },
    async (req, reply) => {
      await requireApi(req, auth, 'list', inProject(req.params, 'artifact'));
      const w = pageWindow(req.query);
      const page = await artifacts.list(nameOf(req.params), { ...req.query, offset: w.offset, limit: w.size }, viewOptions(req.query, req.headers['x-accept-vulnerabilities']));
      setPageHeaders(req, reply, page.total, w.page, w.size);
      return page.items.map(artifactJson);
    },
  );

  // copy: create rights in the target, read rights in the source
  app.post<{ Params: Static<typeof RepositoryParams>; Querystring: Static<typeof CopyQuery> }>(
    BASE,
    { schema: { params: RepositoryParams, querystring: CopyQuery } },
    async (req, reply) => {
      await requireApi(req, auth, 'create', inProject(req.params, 'artifact'));
      const target = nameOf(req.params);
      const source = parseCopySource(req.query.from);
      await requireApi(req, auth, 'read', projectResource(source.repository.project, 'artifact'));
      await artifacts.copy(actorOf(req), target, source);
      const path = (req.raw.url ?? '').split('?')[0]!.replace(/\/+$/, '');
      return reply.code(201).header('location', `${path}/${source.reference}`).send();
    },
  );

  app.get<{ Params: Static<typeof ArtifactParams>; Querystring: Static<typeof ArtifactGetQuery> }>(
    `${BASE}/:reference`,
    { schema: { params: ArtifactParams, querystring: ArtifactGetQuery } },
    async (req) => {
      await requireApi(req, auth, 'read', inProject(req.params, 'artifact'));
      return artifactJson(await artifacts.get(nameOf(req.params), req.params.reference, viewOptions(req.query, req.headers['x-accept-vulnerabilities'])));
    },
  );

  app.delete<{ Params: Static<typeof ArtifactParams> }>(`${BASE}/:reference`, { schema: { params: ArtifactParams } }, async (req) => {
    await requireApi(req, auth, 'delete', inProject(req.params, 'artifact'));
    await artifacts.delete(actorOf(req), nameOf(req.params), req.params.reference);
    return {};
  });

  app.get<{ Params: Static<typeof ArtifactParams>; Querystring: Static<typeof TagListQuery> }>(
    `${BASE}/:reference/tags`,
    { schema: { params: ArtifactParams, querystring: TagListQuery } },
    async (req, reply) => {
      await requireApi(req, auth, 'list', inProject(req.params, 'tag'));
      const w = pageWindow(req.query);
      const page = await artifacts.listTags(nameOf(req.params), req.params.reference, { ...req.query, offset: w.offset, limit: w.size });
      setPageHeaders(req, reply, page.total, w.page, w.size);
      return page.items.map(tagJson);
    },
  );

  app.post<{ Params: Static<typeof ArtifactParams>; Body: Static<typeof TagBody> }>(
    `${BASE}/:reference/tags`,
    { schema: { params: ArtifactParams, body: TagBody } },
    async (req, reply) => {
      await requireApi(req, auth, 'create', inProject(req.params, 'tag'));
      await artifacts.createTag(actorOf(req), nameOf(req.params), req.params.reference, req.body.name);
      return reply.code(201).send();
    },
  );

  app.delete<{ Params: Static<typeof TagParams> }>(`${BASE}/:reference/tags/:tag_name`, { schema: { params: TagParams } }, async (req) => {
    await requireApi(req, auth, 'delete', inProject(req.params, 'tag'));
    await artifacts.deleteTag(actorOf(req), nameOf(req.params), req.params.reference, req.params.tag_name);
    return {};
  });

  app.post<{ Params: Static<typeof ArtifactParams>; Body: Static<typeof LabelRef> }>(
    `${BASE}/:reference/labels`,
    { schema: { params: ArtifactParams, body: LabelRef } },
    async (req) => {
      await requireApi(req, auth, 'create', inProject(req.params, 'artifact-label'));
      await artifacts.addLabel(actorOf(req), nameOf(req.params), req.params.reference, req.body.id);
      return {};
    },
  );

  app.delete<{ Params: Static<typeof LabelParams> }>(`${BASE}/:reference/labels/:label_id`, { schema: { params: LabelParams } }, async (req) => {
    await requireApi(req, auth, 'delete', inProject(req.params, 'artifact-label'));
    await artifacts.removeLabel(actorOf(req), nameOf(req.params), req.params.reference, req.params.label_id);
    return {};
  });
}
