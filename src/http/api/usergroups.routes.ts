import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { badRequest } from '../../domain/errors.js';
import { systemResource } from '../../domain/permission.js';
import type { UserGroup } from '../../ports/identity-repos.js';
import type { UserGroupService } from '../../services/user-group.service.js';
import { type AuthOptions, requireApi } from '../auth.js';
import { PagingQuery, pageWindow, setPageHeaders } from './paging.js';

// Harbor's UserGroup; `id` is read-only and ignored when sent
const UserGroupReq = T.Object(
  {
    id: T.Optional(T.Integer()),
    group_name: T.Optional(T.String({ maxLength: 255 })),
    group_type: T.Optional(T.Integer()),
    ldap_group_dn: T.Optional(T.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);

const GroupParams = T.Object({ group_id: T.Integer({ minimum: 1 }) });
const ListQuery = T.Object({ ...PagingQuery, group_name: T.Optional(T.String({ maxLength: 255 })), ldap_group_dn: T.Optional(T.String({ maxLength: 1024 })) });
const SearchQuery = T.Object({ ...PagingQuery, groupname: T.String({ minLength: 1, maxLength: 255 }) });

function groupJson(g: UserGroup) {
  return { id: g.id, group_name: g.name, group_type: g.type, ldap_group_dn: g.ldapGroupDn };
}

/**
 * Harbor's /usergroups. Listing and changes are for system administrators (the `user-group`
 * system resource: read, create, update, delete); the search is open to every signed-in user,
 * who needs it to add a group to a project (its `list` action).
 */
export async function userGroupRoutes(app: FastifyInstance, deps: { userGroups: UserGroupService; auth: AuthOptions }): Promise<void> {
  const { userGroups, auth } = deps;
  const actor = (req: FastifyRequest) => ({ principal: req.principal, ip: req.ip });

  app.get<{ Querystring: Static<typeof ListQuery> }>('/api/v2.0/usergroups', { schema: { tags: ['usergroup'], operationId: 'listUserGroups', summary: 'User groups (system admins)', querystring: ListQuery } }, async (req, reply) => {
    await requireApi(req, auth, 'read', systemResource('user-group'));
    const w = pageWindow(req.query);
    const page = await userGroups.list(
      { ...(req.query.group_name ? { name: req.query.group_name } : {}), ...(req.query.ldap_group_dn ? { ldapGroupDn: req.query.ldap_group_dn } : {}) },
      { offset: w.offset, limit: w.size },
    );
    setPageHeaders(req, reply, page.total, w.page, w.size);
    return page.items.map(groupJson);
  });

  app.post<{ Body: Static<typeof UserGroupReq> }>('/api/v2.0/usergroups', { schema: { tags: ['usergroup'], operationId: 'createUserGroup', summary: 'Create a user group; an LDAP group by its DN (system admins)', body: UserGroupReq } }, async (req, reply) => {
    await requireApi(req, auth, 'create', systemResource('user-group'));
    const g = await userGroups.create(actor(req), {
      type: req.body.group_type ?? 0,
      ...(req.body.group_name !== undefined ? { name: req.body.group_name } : {}),
      ...(req.body.ldap_group_dn !== undefined ? { ldapGroupDn: req.body.ldap_group_dn } : {}),
    });
    return reply.code(201).header('location', `/api/v2.0/usergroups/${g.id}`).send();
  });

  app.get<{ Querystring: Static<typeof SearchQuery> }>('/api/v2.0/usergroups/search', { schema: { tags: ['usergroup'], operationId: 'searchUserGroups', summary: 'User groups by name (signed-in users)', querystring: SearchQuery } }, async (req, reply) => {
    await requireApi(req, auth, 'list', systemResource('user-group'));
    const w = pageWindow(req.query);
    const page = await userGroups.search(req.query.groupname, { offset: w.offset, limit: w.size });
    setPageHeaders(req, reply, page.total, w.page, w.size);
    return page.items.map((g) => ({ id: g.id, group_name: g.name, group_type: g.type }));
  });

  app.get<{ Params: Static<typeof GroupParams> }>('/api/v2.0/usergroups/:group_id', { schema: { tags: ['usergroup'], operationId: 'getUserGroup', summary: 'A user group (system admins)', params: GroupParams } }, async (req) => {
    await requireApi(req, auth, 'read', systemResource('user-group'));
    return groupJson(await userGroups.get(req.params.group_id));
  });

  app.put<{ Params: Static<typeof GroupParams>; Body: Static<typeof UserGroupReq> }>(
    '/api/v2.0/usergroups/:group_id',
    { schema: { tags: ['usergroup'], operationId: 'updateUserGroup', summary: 'Rename a user group (system admins)', params: GroupParams, body: UserGroupReq } },
    async (req) => {
      await requireApi(req, auth, 'update', systemResource('user-group'));
      if (req.body.group_name === undefined) throw badRequest('group_name is required');
      await userGroups.rename(actor(req), req.params.group_id, req.body.group_name);
      return {};
    },
  );

  app.delete<{ Params: Static<typeof GroupParams> }>('/api/v2.0/usergroups/:group_id', { schema: { tags: ['usergroup'], operationId: 'deleteUserGroup', summary: 'Delete a user group and its project memberships (system admins)', params: GroupParams } }, async (req) => {
    await requireApi(req, auth, 'delete', systemResource('user-group'));
    await userGroups.delete(actor(req), req.params.group_id);
    return {};
  });
}
