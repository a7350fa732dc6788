import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { type Action, projectResource, ROLE_IDS } from '../../domain/permission.js';
import type { Project } from '../../domain/records.js';
import type { ProjectMember } from '../../ports/identity-repos.js';
import type { MemberService } from '../../services/member.service.js';
import type { ProjectService } from '../../services/project.service.js';
import { type AuthOptions, requireApi } from '../auth.js';
import { PagingQuery, pageWindow, setPageHeaders } from './paging.js';
import { byId } from './projects.routes.js';

const ProjectParams = T.Object({ project_name_or_id: T.String({ minLength: 1, maxLength: 255 }) });
const MemberParams = T.Object({ project_name_or_id: T.String({ minLength: 1, maxLength: 255 }), mid: T.Integer({ minimum: 1 }) });

const ListQuery = T.Object({ ...PagingQuery, entityname: T.Optional(T.String({ maxLength: 255 })) });

// Harbor's ProjectMember: UserEntity and UserGroup may carry their other read-only fields
const MemberReq = T.Object(
  {
    role_id: T.Integer(),
    member_user: T.Optional(
      T.Object({ user_id: T.Optional(T.Integer()), username: T.Optional(T.String({ maxLength: 255 })) }, { additionalProperties: true }),
    ),
    member_group: T.Optional(
      T.Object(
        {
          id: T.Optional(T.Integer()),
          group_name: T.Optional(T.String({ maxLength: 255 })),
          group_type: T.Optional(T.Integer()),
          ldap_group_dn: T.Optional(T.String({ maxLength: 1024 })),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: false },
);

const RoleReq = T.Object({ role_id: T.Integer() }, { additionalProperties: false });

const MemberEntity = T.Object(
  {
    id: T.Integer(),
    project_id: T.Integer(),
    entity_name: T.String(),
    role_name: T.String({ description: 'projectAdmin, maintainer, developer, guest or limitedGuest' }),
    role_id: T.Integer({ description: '1 projectAdmin, 2 developer, 3 guest, 4 maintainer, 5 limitedGuest' }),
    entity_id: T.Integer({ description: 'the user id or the user group id' }),
    entity_type: T.Union([T.Literal('u'), T.Literal('g')], { description: 'u for a user, g for a group' }),
  },
  { description: "Harbor's ProjectMemberEntity" },
);

/** Harbor's ProjectMemberEntity. */
function memberJson(m: ProjectMember): Static<typeof MemberEntity> {
  return {
    id: m.id,
    project_id: m.projectId,
    entity_name: m.entityName,
    role_name: m.role,
    role_id: ROLE_IDS[m.role],
    entity_id: m.entityId,
    entity_type: m.entityType,
  };
}

/** Harbor's /projects/{project_name_or_id}/members: who may do what is the `member` row of the matrix. */
export async function memberRoutes(app: FastifyInstance, deps: { members: MemberService; projects: ProjectService; auth: AuthOptions }): Promise<void> {
  const { members, projects, auth } = deps;

  /** The project, once the caller may take `action` on its members; anonymous callers learn nothing. */
  async function authorised(req: FastifyRequest, key: string, action: Action): Promise<Project> {
    const p = await projects.find(key, byId(req, key)).catch(async (e: unknown) => {
      if (req.principal.kind === 'anonymous') await requireApi(req, auth, action, projectResource(key, 'member'));
      throw e;
    });
    await requireApi(req, auth, action, projectResource(p.name, 'member'));
    return p;
  }

  const actor = (req: FastifyRequest) => ({ principal: req.principal, ip: req.ip });

  app.get<{ Params: Static<typeof ProjectParams>; Querystring: Static<typeof ListQuery> }>(
    '/api/v2.0/projects/:project_name_or_id/members',
    { schema: { params: ProjectParams, querystring: ListQuery, response: { 200: T.Array(MemberEntity) } } },
    async (req, reply) => {
      const project = await authorised(req, req.params.project_name_or_id, 'list');
      const w = pageWindow(req.query);
      const page = await members.list(project, { ...(req.query.entityname ? { entityName: req.query.entityname } : {}), offset: w.offset, limit: w.size });
      setPageHeaders(req, reply, page.total, w.page, w.size);
      return page.items.map(memberJson);
    },
  );

  app.post<{ Params: Static<typeof ProjectParams>; Body: Static<typeof MemberReq> }>(
    '/api/v2.0/projects/:project_name_or_id/members',
    { schema: { params: ProjectParams, body: MemberReq } },
    async (req, reply) => {
      const project = await authorised(req, req.params.project_name_or_id, 'create');
      const { member_user: u, member_group: g } = req.body;
      const m = await members.add(actor(req), project, {
        roleId: req.body.role_id,
        ...(u ? { user: { ...(u.user_id !== undefined ? { userId: u.user_id } : {}), ...(u.username !== undefined ? { username: u.username } : {}) } } : {}),
        ...(g
          ? {
              group: {
                ...(g.id !== undefined ? { id: g.id } : {}),
                ...(g.group_name !== undefined ? { groupName: g.group_name } : {}),
                ...(g.group_type !== undefined ? { groupType: g.group_type } : {}),
                ...(g.ldap_group_dn !== undefined ? { ldapGroupDn: g.ldap_group_dn } : {}),
              },
            }
          : {}),
      });
      const path = (req.raw.url ?? '').split('?')[0]!.replace(/\/+$/, '');
      return reply.code(201).header('location', `${path}/${m.id}`).send();
    },
  );

  app.get<{ Params: Static<typeof MemberParams> }>('/api/v2.0/projects/:project_name_or_id/members/:mid', { schema: { params: MemberParams, response: { 200: MemberEntity } } }, async (req) => {
    const project = await authorised(req, req.params.project_name_or_id, 'read');
    return memberJson(await members.get(project, req.params.mid));
  });

  app.put<{ Params: Static<typeof MemberParams>; Body: Static<typeof RoleReq> }>(
    '/api/v2.0/projects/:project_name_or_id/members/:mid',
    { schema: { params: MemberParams, body: RoleReq } },
    async (req) => {
      const project = await authorised(req, req.params.project_name_or_id, 'update');
      await members.updateRole(actor(req), project, req.params.mid, req.body.role_id);
      return {};
    },
  );

  app.delete<{ Params: Static<typeof MemberParams> }>('/api/v2.0/projects/:project_name_or_id/members/:mid', { schema: { params: MemberParams } }, async (req) => {
    const project = await authorised(req, req.params.project_name_or_id, 'delete');
    await members.remove(actor(req), project, req.params.mid);
    return {};
  });
}
