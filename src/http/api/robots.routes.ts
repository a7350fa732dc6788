import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { badRequest, unauthorized } from '../../domain/errors.js';
import { asInt, checkConditions, type Condition, parseQuery } from '../../domain/query.js';
import { projectResource, systemResource } from '../../domain/permission.js';
import type { RobotRecord } from '../../ports/identity-repos.js';
import type { RobotService } from '../../services/robot.service.js';
import { type AuthOptions, requireApi } from '../auth.js';
import { PagingQuery, pageWindow, setPageHeaders } from './paging.js';

const Access = T.Object(
  { resource: T.String({ maxLength: 64 }), action: T.String({ maxLength: 32 }), effect: T.Optional(T.String({ maxLength: 16 })) },
  { additionalProperties: false },
);
const Permission = T.Object(
  { kind: T.String({ maxLength: 16 }), namespace: T.String({ maxLength: 255 }), access: T.Array(Access, { maxItems: 500 }) },
  { additionalProperties: false },
);

const RobotFields = {
  name: T.String({ minLength: 1, maxLength: 512 }),
  description: T.Optional(T.String({ maxLength: 1024 })),
  level: T.String({ maxLength: 16 }),
  disable: T.Optional(T.Boolean()),
  duration: T.Optional(T.Integer()),
  permissions: T.Array(Permission, { maxItems: 200 }),
};

const RobotCreate = T.Object({ ...RobotFields, secret: T.Optional(T.String({ maxLength: 128 })) }, { additionalProperties: false });

// Harbor's PUT takes the Robot object as GET answered it; its read-only fields are ignored
const RobotUpdate = T.Object(
  {
    ...RobotFields,
    id: T.Optional(T.Integer()),
    secret: T.Optional(T.Unknown()),
    editable: T.Optional(T.Boolean()),
    expires_at: T.Optional(T.Integer()),
    creation_time: T.Optional(T.String()),
    update_time: T.Optional(T.String()),
  },
  { additionalProperties: false },
);

const RobotSec = T.Object({ secret: T.Optional(T.String({ maxLength: 128 })) }, { additionalProperties: false });
const IdParams = T.Object({ robot_id: T.Integer({ minimum: 1 }) });
const ListQuery = T.Object({ ...PagingQuery, q: T.Optional(T.String({ maxLength: 1024 })), sort: T.Optional(T.String({ maxLength: 255 })) });

const iso = (ms: number) => new Date(ms).toISOString();
/** Harbor counts expires_at in seconds since the epoch */
const expiresAt = (ms: number) => (ms === -1 ? -1 : Math.floor(ms / 1000));

const RobotJson = T.Object(
  {
    id: T.Integer(),
    name: T.String({ description: 'robot$<name>, or robot$<project>+<name> for a project robot' }),
    description: T.String(),
    level: T.String({ description: 'system or project' }),
    duration: T.Integer({ description: 'days; -1 never expires' }),
    editable: T.Boolean(),
    disable: T.Boolean(),
    expires_at: T.Integer({ description: 'seconds since the epoch; -1 never' }),
    permissions: T.Array(
      T.Object({ kind: T.String(), namespace: T.String(), access: T.Array(T.Object({ resource: T.String(), action: T.String() })) }),
    ),
    creation_time: T.String({ format: 'date-time' }),
    update_time: T.String({ format: 'date-time' }),
  },
  { description: "Harbor's Robot (the secret is never shown again)" },
);

const RobotCreated = T.Object(
  {
    id: T.Integer(),
    name: T.String(),
    secret: T.String({ description: 'shown this once; only its hash is stored' }),
    creation_time: T.String({ format: 'date-time' }),
    expires_at: T.Integer(),
  },
  { description: "Harbor's RobotCreated" },
);

/** Harbor's Robot JSON (never the secret). */
function robotJson(r: RobotRecord): Static<typeof RobotJson> {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    level: r.level,
    duration: r.durationDays,
    editable: true,
    disable: r.disabled,
    expires_at: expiresAt(r.expiresAt),
    permissions: r.permissions.map((p) => ({ kind: p.kind, namespace: p.namespace, access: p.access.map((a) => ({ resource: a.resource, action: a.action })) })),
    creation_time: iso(r.createdAt),
    update_time: iso(r.updatedAt),
  };
}

/**
 * Harbor's `q` as its robot listing reads it: `Level=project,ProjectID=3,name=~ci`. The keys are
 * taken in Harbor's spelling and in snake case (level, project_id).
 */
function robotQuery(q: string | undefined): { level?: string; projectId?: number; name?: { exact: boolean; value: string } } {
  const conds = parseQuery(q);
  checkConditions(conds, { Level: ['exact'], level: ['exact'], ProjectID: ['exact'], project_id: ['exact'], name: ['exact', 'fuzzy'] });
  const value = (c: Condition | undefined) => (c && (c.op === 'exact' || c.op === 'fuzzy') ? c.value : undefined);
  const level = value(conds.get('Level') ?? conds.get('level'));
  const projectId = value(conds.get('ProjectID') ?? conds.get('project_id'));
  const name = conds.get('name');
  return {
    ...(level !== undefined ? { level } : {}),
    ...(projectId !== undefined ? { projectId: asInt('ProjectID', projectId) } : {}),
    ...(name && (name.op === 'exact' || name.op === 'fuzzy') ? { name: { exact: name.op === 'exact', value: name.value } } : {}),
  };
}

/** Harbor's robot v2 API. Robot accounts of a project are robots with level=project. */
export async function robotRoutes(app: FastifyInstance, deps: { robots: RobotService; auth: AuthOptions }): Promise<void> {
  const { robots, auth } = deps;
  const actor = (req: FastifyRequest) => ({ principal: req.principal, ip: req.ip });

  app.get('/api/v2.0/permissions', { schema: { tags: ['permissions'], operationId: 'getPermissions', summary: 'The permissions a robot account can be given' } }, async (req) => {
    if (req.principal.kind === 'anonymous') throw unauthorized('sign in to see the permissions');
    return robots.permissionCatalog(req.principal.kind === 'user' && req.principal.sysadmin);
  });
  const signedIn = (req: FastifyRequest) => {
    if (req.principal.kind === 'anonymous') throw unauthorized('UnAuthorized');
  };

  app.post<{ Body: Static<typeof RobotCreate> }>('/api/v2.0/robots', { schema: { body: RobotCreate, response: { 201: RobotCreated } } }, async (req, reply) => {
    signedIn(req);
    const draft = robots.draft(req.body);
    await requireApi(req, auth, 'create', draft.resource);
    const { robot, secret } = await robots.create(actor(req), draft);
    return reply
      .code(201)
      .header('location', `/api/v2.0/robots/${robot.id}`)
      .send({ id: robot.id, name: robot.name, secret, creation_time: iso(robot.createdAt), expires_at: expiresAt(robot.expiresAt) });
  });

  app.get<{ Querystring: Static<typeof ListQuery> }>('/api/v2.0/robots', { schema: { querystring: ListQuery, response: { 200: T.Array(RobotJson) } } }, async (req, reply) => {
    signedIn(req);
    const q = robotQuery(req.query.q);
    const level = q.level ?? 'system';
    if (level !== 'system' && level !== 'project') throw badRequest('bad request error level input');
    let projectId: number | undefined;
    if (level === 'project') {
      if (q.projectId === undefined) throw badRequest('must with project ID when to query project robots');
      const project = await robots.projectById(q.projectId);
      await requireApi(req, auth, 'list', projectResource(project.name, 'robot'));
      projectId = project.id;
    } else {
      await requireApi(req, auth, 'list', systemResource('robot'));
    }
    const w = pageWindow(req.query);
    const page = await robots.list({ level, ...(projectId !== undefined ? { projectId } : {}), ...(q.name ? { name: q.name } : {}) }, { offset: w.offset, limit: w.size });
    setPageHeaders(req, reply, page.total, w.page, w.size);
    return page.items.map(robotJson);
  });

  app.get<{ Params: Static<typeof IdParams> }>('/api/v2.0/robots/:robot_id', { schema: { params: IdParams, response: { 200: RobotJson } } }, async (req) => {
    signedIn(req);
    const r = await robots.get(req.params.robot_id);
    await requireApi(req, auth, 'read', robots.resourceOf(r));
    return robotJson(r);
  });

  app.put<{ Params: Static<typeof IdParams>; Body: Static<typeof RobotUpdate> }>(
    '/api/v2.0/robots/:robot_id',
    { schema: { params: IdParams, body: RobotUpdate } },
    async (req) => {
      signedIn(req);
      const r = await robots.get(req.params.robot_id);
      await requireApi(req, auth, 'update', robots.resourceOf(r));
      const { name, description, level, disable, duration, permissions } = req.body;
      const draft = robots.draft({
        name: robots.namePart(r, name),
        level,
        permissions,
        ...(description !== undefined ? { description } : {}),
        ...(disable !== undefined ? { disable } : {}),
        ...(duration !== undefined ? { duration } : {}),
      });
      await robots.update(actor(req), r, draft);
      return {};
    },
  );

  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof RobotSec> }>(
    '/api/v2.0/robots/:robot_id',
    { schema: { params: IdParams, body: RobotSec, response: { 200: RobotSec } } },
    async (req) => {
      signedIn(req);
      const r = await robots.get(req.params.robot_id);
      await requireApi(req, auth, 'update', robots.resourceOf(r));
      const secret = await robots.refreshSecret(actor(req), r, req.body.secret);
      return secret === undefined ? {} : { secret };
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>('/api/v2.0/robots/:robot_id', { schema: { params: IdParams } }, async (req) => {
    signedIn(req);
    const r = await robots.get(req.params.robot_id);
    await requireApi(req, auth, 'delete', robots.resourceOf(r));
    await robots.delete(actor(req), r);
    return {};
  });
}
