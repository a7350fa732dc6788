import type { FastifyInstance } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { systemResource } from '../../domain/permission.js';
import { GROUP_TYPES } from '../../ports/identity-repos.js';
import type { LdapService } from '../../services/ldap.service.js';
import { type AuthOptions, requireApi } from '../auth.js';

// Harbor's LdapConf
const LdapConf = T.Object(
  {
    ldap_url: T.Optional(T.String({ maxLength: 1024 })),
    ldap_search_dn: T.Optional(T.String({ maxLength: 1024 })),
    ldap_search_password: T.Optional(T.String({ maxLength: 1024 })),
    ldap_base_dn: T.Optional(T.String({ maxLength: 1024 })),
    ldap_filter: T.Optional(T.String({ maxLength: 4096 })),
    ldap_uid: T.Optional(T.String({ maxLength: 128 })),
    ldap_scope: T.Optional(T.Integer({ minimum: 0, maximum: 2 })),
    ldap_connection_timeout: T.Optional(T.Integer({ minimum: 1, maximum: 300 })),
    ldap_verify_cert: T.Optional(T.Boolean()),
  },
  { additionalProperties: false },
);

const ImportReq = T.Object({ ldap_uid_list: T.Array(T.String({ maxLength: 255 }), { maxItems: 1000 }) }, { additionalProperties: false });
const UserSearch = T.Object({ username: T.Optional(T.String({ maxLength: 255 })) });
const GroupSearch = T.Object({ groupname: T.Optional(T.String({ maxLength: 255 })), groupdn: T.Optional(T.String({ maxLength: 1024 })) });

/** Harbor's /ldap API: system administrators only (the `ldap` system resource). */
export async function ldapRoutes(app: FastifyInstance, deps: { ldap: LdapService; auth: AuthOptions }): Promise<void> {
  const { ldap, auth } = deps;

  // Harbor: an empty body pings with the saved configuration
  app.post<{ Body: Static<typeof LdapConf> | undefined }>(
    '/api/v2.0/ldap/ping',
    { schema: { tags: ['Ldap'], operationId: 'pingLdap', summary: 'Test LDAP settings: bind with the search account (system admins)', body: T.Union([LdapConf, T.Null()]) } },
    async (req) => {
      await requireApi(req, auth, 'read', systemResource('ldap'));
      return ldap.ping(req.body ?? {});
    },
  );

  app.get<{ Querystring: Static<typeof UserSearch> }>('/api/v2.0/ldap/users/search', { schema: { tags: ['Ldap'], operationId: 'searchLdapUser', summary: 'Directory users of the filter, by uid (system admins)', querystring: UserSearch } }, async (req) => {
    await requireApi(req, auth, 'list', systemResource('ldap'));
    return ldap.searchUsers(req.query.username);
  });

  app.post<{ Body: Static<typeof ImportReq> }>('/api/v2.0/ldap/users/import', { schema: { tags: ['Ldap'], operationId: 'importLdapUser', summary: 'Onboard directory users; 404 lists the ones that failed (system admins)', body: ImportReq } }, async (req, reply) => {
    await requireApi(req, auth, 'create', systemResource('ldap'));
    const failures = await ldap.importUsers({ principal: req.principal, ip: req.ip }, req.body.ldap_uid_list);
    // Harbor: 404 with the uids that could not be imported (the others are)
    if (failures.length) return reply.code(404).send(failures);
    return {};
  });

  app.get<{ Querystring: Static<typeof GroupSearch> }>('/api/v2.0/ldap/groups/search', { schema: { tags: ['Ldap'], operationId: 'searchLdapGroup', summary: 'Directory groups by name or DN (system admins)', querystring: GroupSearch } }, async (req) => {
    await requireApi(req, auth, 'list', systemResource('ldap'));
    const groups = await ldap.searchGroups({
      ...(req.query.groupname ? { name: req.query.groupname } : {}),
      ...(req.query.groupdn ? { dn: req.query.groupdn } : {}),
    });
    return groups.map((g) => ({ group_name: g.name, group_type: GROUP_TYPES.ldap, ldap_group_dn: g.dn }));
  });
}
