import type { FastifyInstance } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { badRequest, notFound } from '../../domain/errors.js';
import { projectResource } from '../../domain/permission.js';
import type { ProjectService } from '../../services/project.service.js';
import { type AuthOptions, requireApi } from '../auth.js';
import { byId } from './projects.routes.js';

const NameOrId = T.Object({ project_name_or_id: T.String({ minLength: 1, maxLength: 255 }) });
const MetaParams = T.Object({ ...NameOrId.properties, meta_name: T.String({ minLength: 1, maxLength: 64 }) });
const MetaBody = T.Record(T.String({ maxLength: 64 }), T.Union([T.String({ maxLength: 64 }), T.Boolean(), T.Integer()]), { maxProperties: 32 });

const ProjectSummary = T.Object({
  repo_count: T.Integer(),
  project_admin_count: T.Integer(),
  maintainer_count: T.Integer(),
  developer_count: T.Integer(),
  guest_count: T.Integer(),
  limited_guest_count: T.Integer(),
});

/** Harbor's project summary, _deletable and /metadatas operations, beside the project CRUD. */
export async function projectExtraRoutes(app: FastifyInstance, deps: { projects: ProjectService; auth: AuthOptions }): Promise<void> {
  const { projects, auth } = deps;
  const find = (req: { headers: Record<string, unknown> }, key: string) => projects.find(key, byId(req as never, key));

  app.get<{ Params: Static<typeof NameOrId> }>(
    '/api/v2.0/projects/:project_name_or_id/summary',
    { schema: { tags: ['project'], operationId: 'getProjectSummary', params: NameOrId, response: { 200: ProjectSummary } } },
    async (req) => {
      const p = await find(req, req.params.project_name_or_id);
      await requireApi(req, auth, 'read', projectResource(p.name, 'project'));
      const s = await projects.summary(p);
      return {
        repo_count: s.repoCount,
        project_admin_count: s.members.projectAdmin,
        maintainer_count: s.members.maintainer,
        developer_count: s.members.developer,
        guest_count: s.members.guest,
        limited_guest_count: s.members.limitedGuest,
      };
    },
  );

  app.get<{ Params: Static<typeof NameOrId> }>(
    '/api/v2.0/projects/:project_name_or_id/_deletable',
    { schema: { tags: ['project'], operationId: 'getProjectDeletable', params: NameOrId } },
    async (req) => {
      const p = await find(req, req.params.project_name_or_id);
      await requireApi(req, auth, 'delete', projectResource(p.name, 'project'));
      return projects.deletable(p);
    },
  );

  app.get<{ Params: Static<typeof NameOrId> }>(
    '/api/v2.0/projects/:project_name_or_id/metadatas/',
    { schema: { tags: ['projectMetadata'], operationId: 'listProjectMetadatas', params: NameOrId } },
    async (req) => {
      const p = await find(req, req.params.project_name_or_id);
      await requireApi(req, auth, 'read', projectResource(p.name, 'metadata'));
      return projects.metadataOf(p);
    },
  );

  app.post<{ Params: Static<typeof NameOrId>; Body: Static<typeof MetaBody> }>(
    '/api/v2.0/projects/:project_name_or_id/metadatas/',
    { schema: { tags: ['projectMetadata'], operationId: 'addProjectMetadatas', params: NameOrId, body: MetaBody } },
    async (req, reply) => {
      const key = req.params.project_name_or_id;
      const p = await find(req, key);
      await requireApi(req, auth, 'create', projectResource(p.name, 'metadata'));
      await setMetadata(projects, p.id, req.body, { principal: req.principal, ip: req.ip });
      return reply.code(200).send();
    },
  );

  app.get<{ Params: Static<typeof MetaParams> }>(
    '/api/v2.0/projects/:project_name_or_id/metadatas/:meta_name',
    { schema: { tags: ['projectMetadata'], operationId: 'getProjectMetadata', params: MetaParams } },
    async (req) => {
      const p = await find(req, req.params.project_name_or_id);
      await requireApi(req, auth, 'read', projectResource(p.name, 'metadata'));
      const value = (await projects.metadataOf(p))[req.params.meta_name];
      if (value === undefined) throw notFound(`project ${p.name} has no metadata ${req.params.meta_name}`);
      return { [req.params.meta_name]: value };
    },
  );

  app.put<{ Params: Static<typeof MetaParams>; Body: Static<typeof MetaBody> }>(
    '/api/v2.0/projects/:project_name_or_id/metadatas/:meta_name',
    { schema: { tags: ['projectMetadata'], operationId: 'updateProjectMetadata', params: MetaParams, body: MetaBody } },
    async (req) => {
      const p = await find(req, req.params.project_name_or_id);
      await requireApi(req, auth, 'update', projectResource(p.name, 'metadata'));
      const keys = Object.keys(req.body);
      if (keys.length !== 1 || keys[0] !== req.params.meta_name) throw badRequest(`the body must hold exactly the key ${req.params.meta_name}`);
      await setMetadata(projects, p.id, req.body, { principal: req.principal, ip: req.ip });
      return {};
    },
  );

  app.delete<{ Params: Static<typeof MetaParams> }>(
    '/api/v2.0/projects/:project_name_or_id/metadatas/:meta_name',
    { schema: { tags: ['projectMetadata'], operationId: 'deleteProjectMetadata', params: MetaParams } },
    async (req) => {
      const p = await find(req, req.params.project_name_or_id);
      await requireApi(req, auth, 'delete', projectResource(p.name, 'metadata'));
      await projects.deleteMetadata(p, req.params.meta_name, { principal: req.principal, ip: req.ip });
      return {};
    },
  );
}

/** `public` goes to the project row, the other keys are validated as a project PUT's metadata. */
function setMetadata(projects: ProjectService, id: number, body: Record<string, string | boolean | number>, actor: Parameters<ProjectService['update']>[3]) {
  const { public: pub, ...rest } = body;
  const isPublic = pub === undefined ? undefined : String(pub).toLowerCase() === 'true';
  if (pub !== undefined && !['true', 'false'].includes(String(pub).toLowerCase())) throw badRequest('public must be "true" or "false"');
  return projects.update(String(id), true, { ...(isPublic === undefined ? {} : { public: isPublic }), metadata: rest }, actor);
}
