import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { unauthorized } from '../../domain/errors.js';
import { projectResource, type Role, ROLE_IDS, systemResource } from '../../domain/permission.js';
import type { CveAllowlistService } from '../../services/cve-allowlist.service.js';
import type { ProjectService, ProjectView } from '../../services/project.service.js';
import { type AuthOptions, requireApi } from '../auth.js';
import { allowlistJson, CveAllowlistBody } from './cve-allowlist.routes.js';
import { PagingQuery, pageWindow, setPageHeaders } from './paging.js';

const BoolString = T.Union([T.Literal('true'), T.Literal('false')]);

const ProjectReq = T.Object(
  {
    project_name: T.String({ minLength: 1, maxLength: 255 }),
    public: T.Optional(T.Boolean()),
    metadata: T.Optional(T.Object({ public: T.Optional(BoolString) }, { additionalProperties: true })),
    storage_limit: T.Optional(T.Integer()),
    registry_id: T.Optional(T.Union([T.Integer(), T.Null()])),
    cve_allowlist: T.Optional(CveAllowlistBody),
  },
  { additionalProperties: false },
);

const ProjectUpdate = T.Object(
  {
    metadata: T.Optional(T.Object({ public: T.Optional(BoolString) }, { additionalProperties: true })),
    public: T.Optional(T.Boolean()),
    cve_allowlist: T.Optional(CveAllowlistBody),
  },
  { additionalProperties: true },
);

const ListQuery = T.Object({
  ...PagingQuery,
  name: T.Optional(T.String({ maxLength: 255 })),
  public: T.Optional(T.Boolean()),
  owner: T.Optional(T.String()),
  with_detail: T.Optional(T.Boolean()),
  sort: T.Optional(T.String()),
  q: T.Optional(T.String()),
});

const NameOrId = T.Object({ project_name_or_id: T.String({ minLength: 1, maxLength: 255 }) });

/** Harbor orders roles projectAdmin > maintainer > developer > guest > limitedGuest. */
const ROLE_RANK: readonly Role[] = ['projectAdmin', 'maintainer', 'developer', 'guest', 'limitedGuest'];

/** Harbor's project JSON; `roles` are the caller's (current_user_role_id is the highest, 0 for none). */
export function projectJson(p: ProjectView, roles: readonly Role[] = []) {
  const iso = (ms: number) => new Date(ms).toISOString();
  const ranked = ROLE_RANK.filter((r) => roles.includes(r));
  return {
    project_id: p.id,
    owner_id: p.ownerId ?? 0,
    name: p.name,
    creation_time: iso(p.createdAt),
    update_time: iso(p.updatedAt),
    deleted: false,
    owner_name: p.ownerName ?? '',
    togglable: true,
    repo_count: p.repoCount,
    metadata: { ...p.metadata, public: String(p.public) },
    current_user_role_id: ranked[0] === undefined ? 0 : ROLE_IDS[ranked[0]],
    current_user_role_ids: ranked.map((r) => ROLE_IDS[r]),
  };
}

/** Harbor: the path is a name when X-Is-Resource-Name is true, else an id when it is numeric. */
export function byId(req: FastifyRequest, nameOrId: string): boolean {
  const h = req.headers['x-is-resource-name'];
  if (String(h).toLowerCase() === 'true') return false;
  return /^[0-9]+$/.test(nameOrId);
}

export async function projectRoutes(
  app: FastifyInstance,
  deps: { projects: ProjectService; auth: AuthOptions; allowlists?: Pick<CveAllowlistService, 'project'> },
): Promise<void> {
  const { projects, auth } = deps;

  app.post<{ Body: Static<typeof ProjectReq> }>('/api/v2.0/projects', { schema: { body: ProjectReq } }, async (req, reply) => {
    await requireApi(req, auth, 'create', systemResource('project'));
    const isPublic = req.body.public ?? req.body.metadata?.public === 'true';
    const settings = { ...(req.body.metadata ? { metadata: req.body.metadata } : {}), ...(req.body.cve_allowlist ? { cveAllowlist: req.body.cve_allowlist } : {}) };
    const p = await projects.create(req.principal, { name: req.body.project_name, public: isPublic, ...settings }, req.ip);
    return reply.code(201).header('location', `/api/v2.0/projects/${p.id}`).send();
  });

  app.head<{ Querystring: { project_name?: string } }>(
    '/api/v2.0/projects',
    { schema: { querystring: T.Object({ project_name: T.String({ minLength: 1, maxLength: 255 }) }) } },
    async (req, reply) => {
      if (req.principal.kind === 'anonymous') throw unauthorized('UnAuthorized');
      const exists = await projects.exists(req.query.project_name!);
      return reply.code(exists ? 200 : 404).send();
    },
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>('/api/v2.0/projects', { schema: { querystring: ListQuery } }, async (req, reply) => {
    await requireApi(req, auth, 'list', systemResource('project'));
    const w = pageWindow(req.query);
    const page = await projects.list(req.principal, {
      ...(req.query.name !== undefined ? { nameLike: req.query.name } : {}),
      ...(req.query.public !== undefined ? { public: req.query.public } : {}),
      offset: w.offset,
      limit: w.size,
    });
    setPageHeaders(req, reply, page.total, w.page, w.size);
    return Promise.all(page.items.map(async (p) => projectJson(p, await auth.access.rolesIn(req.principal, p.name))));
  });

  app.get<{ Params: Static<typeof NameOrId> }>('/api/v2.0/projects/:project_name_or_id', { schema: { params: NameOrId } }, async (req) => {
    const key = req.params.project_name_or_id;
    const id = byId(req, key);
    const view = await projects.get(key, id).catch(async (e: unknown) => {
      // do not tell anonymous callers which private projects exist
      if (req.principal.kind === 'anonymous') await requireApi(req, auth, 'read', projectResource(key, 'project'));
      throw e;
    });
    await requireApi(req, auth, 'read', projectResource(view.name, 'project'));
    const json = projectJson(view, await auth.access.rolesIn(req.principal, view.name));
    return deps.allowlists ? { ...json, cve_allowlist: allowlistJson(await deps.allowlists.project(view.id)) } : json;
  });

  app.put<{ Params: Static<typeof NameOrId>; Body: Static<typeof ProjectUpdate> }>(
    '/api/v2.0/projects/:project_name_or_id',
    { schema: { params: NameOrId, body: ProjectUpdate } },
    async (req) => {
      const key = req.params.project_name_or_id;
      const p = await projects.find(key, byId(req, key));
      await requireApi(req, auth, 'update', projectResource(p.name, 'project'));
      const pub = req.body.public ?? (req.body.metadata?.public === undefined ? undefined : req.body.metadata.public === 'true');
      const patch = {
        ...(pub === undefined ? {} : { public: pub }),
        ...(req.body.metadata ? { metadata: req.body.metadata } : {}),
        ...(req.body.cve_allowlist ? { cveAllowlist: req.body.cve_allowlist } : {}),
      };
      await projects.update(key, byId(req, key), patch, { principal: req.principal, ip: req.ip });
      return {};
    },
  );

  app.delete<{ Params: Static<typeof NameOrId> }>('/api/v2.0/projects/:project_name_or_id', { schema: { params: NameOrId } }, async (req) => {
    const key = req.params.project_name_or_id;
    const p = await projects.find(key, byId(req, key)).catch(async (e: unknown) => {
      if (req.principal.kind === 'anonymous') await requireApi(req, auth, 'delete', projectResource(key, 'project'));
      throw e;
    });
    await requireApi(req, auth, 'delete', projectResource(p.name, 'project'));
    await projects.delete(String(p.id), true, { principal: req.principal, ip: req.ip });
    return {};
  });
}
