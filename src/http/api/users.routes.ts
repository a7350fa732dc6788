import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { badRequest, unauthorized } from '../../domain/errors.js';
import { type Action, systemResource } from '../../domain/permission.js';
import type { User } from '../../domain/records.js';
import type { UserFilter, UserSort } from '../../ports/metadata.js';
import type { Actor, UserService } from '../../services/user.service.js';
import { type AuthOptions, requireApi } from '../auth.js';
import { PagingQuery, pageWindow, setPageHeaders } from './paging.js';

const UserCreationReq = T.Object(
  {
    username: T.String({ minLength: 1, maxLength: 255 }),
    password: T.String({ minLength: 1, maxLength: 1024 }),
    email: T.Optional(T.String({ maxLength: 255 })),
    realname: T.Optional(T.String({ maxLength: 255 })),
    comment: T.Optional(T.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);

// Harbor's UI sends back the user it read; the fields that are not the profile are ignored
const IGNORED = ['user_id', 'username', 'sysadmin_flag', 'admin_role_in_auth', 'oidc_user_meta', 'creation_time', 'update_time'] as const;
const UserProfile = T.Object(
  {
    email: T.Optional(T.String({ maxLength: 255 })),
    realname: T.Optional(T.String({ maxLength: 255 })),
    comment: T.Optional(T.String({ maxLength: 1024 })),
    ...Object.fromEntries(IGNORED.map((k) => [k, T.Optional(T.Unknown())])),
  },
  { additionalProperties: false },
);

const PasswordReq = T.Object(
  { old_password: T.Optional(T.String({ maxLength: 1024 })), new_password: T.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);
const SysAdminFlag = T.Object({ sysadmin_flag: T.Boolean() }, { additionalProperties: false });
const UserId = T.Object({ user_id: T.Integer({ minimum: 1 }) });
const ListQuery = T.Object({ ...PagingQuery, q: T.Optional(T.String({ maxLength: 1024 })), sort: T.Optional(T.String({ maxLength: 64 })) });
const SearchQuery = T.Object({ ...PagingQuery, username: T.String({ maxLength: 255 }) });
const PermissionsQuery = T.Object({ scope: T.Optional(T.String({ maxLength: 512 })), relative: T.Optional(T.Boolean()) });

/** Harbor's oidc_user_meta of a user, from the OIDC service when there is one. */
export type OidcMetaJson = (userId: number, withSecret: boolean) => Promise<Record<string, unknown> | undefined>;

const iso = (ms: number) => new Date(ms).toISOString();

/** Harbor's UserResp. */
export function userJson(u: User, extra: { adminRoleInAuth?: boolean; oidcMeta?: Record<string, unknown> } = {}) {
  return {
    user_id: u.id,
    username: u.username,
    email: u.email,
    realname: u.realname,
    comment: u.comment,
    sysadmin_flag: u.sysadmin,
    admin_role_in_auth: extra.adminRoleInAuth ?? false,
    ...(extra.oidcMeta ? { oidc_user_meta: extra.oidcMeta } : {}),
    creation_time: iso(u.createdAt),
    update_time: iso(u.updatedAt),
  };
}

const SORTS: Record<string, UserSort['by']> = { username: 'username', creation_time: 'createdAt', update_time: 'updatedAt', user_id: 'id' };

function parseSort(sort: string | undefined): UserSort | undefined {
  if (sort === undefined || sort === '') return undefined;
  const desc = sort.startsWith('-');
  const by = SORTS[desc ? sort.slice(1) : sort];
  if (!by) throw badRequest(`sort by ${sort.slice(0, 64)} is not supported: use ${Object.keys(SORTS).join(', ')} (- for descending)`);
  return { by, desc };
}

/** Harbor's q for users: `username=alice`, `username=~ali`, `email=~@example.org`, comma-separated. */
export function parseUserQ(q: string | undefined): UserFilter {
  const filter: UserFilter = {};
  if (q === undefined || q.trim() === '') return filter;
  for (const part of q.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw badRequest(`query ${part.slice(0, 100)} must be key=value or key=~value`);
    const key = part.slice(0, eq).trim();
    let value = part.slice(eq + 1);
    const fuzzy = value.startsWith('~');
    if (fuzzy) value = value.slice(1);
    if (key === 'username') filter[fuzzy ? 'usernameLike' : 'username'] = value;
    else if (key === 'email') filter[fuzzy ? 'emailLike' : 'email'] = value;
    else throw badRequest(`users cannot be queried by ${key.slice(0, 50)}: use username or email`);
  }
  return filter;
}

const doc = (operationId: string, summary: string) => ({ tags: ['user'], operationId, summary });
const actorOf = (req: FastifyRequest): Actor => ({ principal: req.principal, ip: req.ip });
const isSelf = (req: FastifyRequest, id: number) => req.principal.kind === 'user' && req.principal.userId === id;

/** Harbor's /users API. Users act on their own account; the rest needs the system `user` rights. */
export async function userRoutes(app: FastifyInstance, deps: { users: UserService; auth: AuthOptions; oidcMeta?: OidcMetaJson }): Promise<void> {
  const { users, auth } = deps;
  const selfOr = async (req: FastifyRequest, id: number, action: Action) => {
    if (!isSelf(req, id)) await requireApi(req, auth, action, systemResource('user'));
  };
  const signedIn = (req: FastifyRequest) => {
    if (req.principal.kind === 'anonymous') throw unauthorized('UnAuthorized');
  };
  const metaOf = async (u: User, withSecret: boolean) => (u.authSource === 'oidc' && deps.oidcMeta ? deps.oidcMeta(u.id, withSecret) : undefined);

  app.post<{ Body: Static<typeof UserCreationReq> }>('/api/v2.0/users', { schema: { ...doc('createUser', 'Create a local user (system admins)'), body: UserCreationReq } }, async (req, reply) => {
    await requireApi(req, auth, 'create', systemResource('user'));
    const u = await users.create(req.body, actorOf(req));
    return reply.code(201).header('location', `/api/v2.0/users/${u.id}`).send();
  });

  // every signed-in user may `list` users (the search below, names only); the full records with
  // their email addresses are `read`
  app.get<{ Querystring: Static<typeof ListQuery> }>('/api/v2.0/users', { schema: { ...doc('listUsers', 'List users (system admins); q: username, email'), querystring: ListQuery } }, async (req, reply) => {
    await requireApi(req, auth, 'read', systemResource('user'));
    const w = pageWindow(req.query);
    const sort = parseSort(req.query.sort);
    const page = await users.list({ filter: parseUserQ(req.query.q), ...(sort ? { sort } : {}), offset: w.offset, limit: w.size });
    setPageHeaders(req, reply, page.total, w.page, w.size);
    return page.items.map((u) => userJson(u));
  });

  app.get('/api/v2.0/users/current', { schema: doc('getCurrentUserInfo', 'The signed-in user') }, async (req) => {
    signedIn(req);
    const c = await users.current(req.principal);
    const oidcMeta = await metaOf(c.user, true);
    return userJson(c.user, { adminRoleInAuth: c.adminRoleInAuth, ...(oidcMeta ? { oidcMeta } : {}) });
  });

  app.get<{ Querystring: Static<typeof PermissionsQuery> }>(
    '/api/v2.0/users/current/permissions',
    { schema: { ...doc('getCurrentUserPermissions', "The caller's (resource, action) pairs in a scope: /project/{id} or /system"), querystring: PermissionsQuery } },
    async (req) => {
      signedIn(req);
      return users.permissions(req.principal, req.query.scope, req.query.relative ?? false);
    },
  );

  app.get<{ Querystring: Static<typeof SearchQuery> }>('/api/v2.0/users/search', { schema: { ...doc('searchUsers', 'Search users by username (signed-in users)'), querystring: SearchQuery } }, async (req, reply) => {
    await requireApi(req, auth, 'list', systemResource('user'));
    const w = pageWindow(req.query);
    const page = await users.search(req.query.username, { offset: w.offset, limit: w.size });
    setPageHeaders(req, reply, page.total, w.page, w.size);
    return page.items.map((u) => ({ user_id: u.id, username: u.username }));
  });

  app.get<{ Params: Static<typeof UserId> }>('/api/v2.0/users/:user_id', { schema: { ...doc('getUser', "A user's profile (the user or system admins)"), params: UserId } }, async (req) => {
    await selfOr(req, req.params.user_id, 'read');
    const u = await users.getById(req.params.user_id);
    const oidcMeta = await metaOf(u, isSelf(req, u.id));
    return userJson(u, oidcMeta ? { oidcMeta } : {});
  });

  app.put<{ Params: Static<typeof UserId>; Body: Static<typeof UserProfile> }>(
    '/api/v2.0/users/:user_id',
    { schema: { ...doc('updateUserProfile', "Update a user's email, real name and comment"), params: UserId, body: UserProfile } },
    async (req) => {
      await selfOr(req, req.params.user_id, 'update');
      const { email, realname, comment } = req.body as { email?: string; realname?: string; comment?: string };
      await users.updateProfile(actorOf(req), req.params.user_id, {
        ...(email !== undefined ? { email } : {}),
        ...(realname !== undefined ? { realname } : {}),
        ...(comment !== undefined ? { comment } : {}),
      });
      return {};
    },
  );

  app.delete<{ Params: Static<typeof UserId> }>('/api/v2.0/users/:user_id', { schema: { ...doc('deleteUser', 'Delete a user, its memberships and sessions'), params: UserId } }, async (req) => {
    await requireApi(req, auth, 'delete', systemResource('user'));
    await users.delete(actorOf(req), req.params.user_id);
    return {};
  });

  app.put<{ Params: Static<typeof UserId>; Body: Static<typeof SysAdminFlag> }>(
    '/api/v2.0/users/:user_id/sysadmin',
    { schema: { ...doc('setUserSysAdmin', 'Grant or revoke system admin (never the last one)'), params: UserId, body: SysAdminFlag } },
    async (req) => {
      await requireApi(req, auth, 'update', systemResource('user'));
      await users.setSysadmin(actorOf(req), req.params.user_id, req.body.sysadmin_flag);
      return {};
    },
  );

  app.put<{ Params: Static<typeof UserId>; Body: Static<typeof PasswordReq> }>(
    '/api/v2.0/users/:user_id/password',
    { schema: { ...doc('updateUserPassword', 'Change a local user’s password (own: with old_password)'), params: UserId, body: PasswordReq } },
    async (req) => {
      const id = req.params.user_id;
      await selfOr(req, id, 'update');
      const mayWithoutOld = await auth.access.authorize(req.principal, 'update', systemResource('user'));
      await users.changePassword(
        actorOf(req),
        id,
        { newPassword: req.body.new_password, ...(req.body.old_password !== undefined ? { oldPassword: req.body.old_password } : {}) },
        { mayWithoutOld, ...(req.session ? { keepSession: req.session.id } : {}) },
      );
      return {};
    },
  );
}
