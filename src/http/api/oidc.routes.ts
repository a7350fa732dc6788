import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { systemResource } from '../../domain/permission.js';
import type { OidcService, OidcUserMeta } from '../../services/oidc.service.js';
import { PENDING_TTL_MS } from '../../services/oidc.service.js';
import type { OpenSession } from '../../services/session.service.js';
import { type AuthOptions, cookieValue, CSRF_HEADER, externalBase, requireApi } from '../auth.js';
import { sessionCookie } from './session.routes.js';

/** the browser's half of a sign-in: the state it must come back with */
export const STATE_COOKIE = 'berth_oidc_state';
/** a verified sign-in waiting for the user to choose a username */
export const ONBOARD_COOKIE = 'berth_oidc_onboard';
const COOKIE_PATH = '/c/oidc';
export const CALLBACK_PATH = '/c/oidc/callback';

const LoginQuery = T.Object({ redirect_url: T.Optional(T.String({ maxLength: 2000 })) }, { additionalProperties: true });
const OnboardReq = T.Object({ username: T.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false });
const PingReq = T.Object({ url: T.String({ minLength: 1, maxLength: 2000 }), verify_cert: T.Optional(T.Boolean()) }, { additionalProperties: false });
const CliSecretReq = T.Object({ secret: T.Optional(T.String({ maxLength: 128 })) }, { additionalProperties: false });
const UserIdParams = T.Object({ user_id: T.Integer({ minimum: 1 }) });

/** Harbor's oidc_user_meta in user JSON. */
export function oidcUserMetaJson(m: OidcUserMeta) {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: m.id,
    user_id: m.userId,
    subiss: m.subiss,
    ...(m.secret !== undefined ? { secret: m.secret } : {}),
    creation_time: iso(m.createdAt),
    update_time: iso(m.updatedAt),
  };
}

function cookie(name: string, value: string, secure: boolean, opts: { path: string; maxAgeSeconds?: number }): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${opts.path}`, 'HttpOnly', 'SameSite=Lax'];
  if (opts.maxAgeSeconds !== undefined) parts.push(`Max-Age=${opts.maxAgeSeconds}`);
  if (secure) parts.push('Secure');
  return parts.join('; ');
}

/**
 * The UI's OIDC sign-in (Harbor's /c/oidc/login, /c/oidc/callback, /c/oidc/onboard), the
 * provider check (/api/v2.0/system/oidc/ping) and the CLI secret (/api/v2.0/users/{id}/cli_secret).
 *
 * Cookies are SameSite=Lax: the provider's redirect back is a top-level GET from another site,
 * which Lax cookies accompany, while a cross-site POST (to /c/oidc/onboard) carries none.
 */
export async function oidcRoutes(app: FastifyInstance, deps: { oidc: OidcService; auth: AuthOptions }): Promise<void> {
  const { oidc, auth } = deps;
  const base = (req: FastifyRequest) => externalBase(req, auth.externalUrl);
  const secure = (req: FastifyRequest) => base(req).startsWith('https:');

  const openSession = (req: FastifyRequest, reply: FastifyReply, s: OpenSession, clear: string) => {
    reply.header('set-cookie', [sessionCookie(s.cookie, secure(req)), cookie(clear, '', secure(req), { path: COOKIE_PATH, maxAgeSeconds: 0 })]);
    reply.header(CSRF_HEADER, s.csrfToken);
  };

  app.get<{ Querystring: Static<typeof LoginQuery> }>('/c/oidc/login', { schema: { querystring: LoginQuery } }, async (req, reply) => {
    const { url, state } = await oidc.begin({ redirectUri: `${base(req)}${CALLBACK_PATH}`, ...(req.query.redirect_url ? { returnTo: req.query.redirect_url } : {}) });
    reply.header('set-cookie', cookie(STATE_COOKIE, state, secure(req), { path: COOKIE_PATH, maxAgeSeconds: PENDING_TTL_MS / 1000 }));
    reply.header('cache-control', 'no-store');
    return reply.redirect(url, 302);
  });

  app.get(CALLBACK_PATH, async (req, reply) => {
    const q = req.url.indexOf('?');
    const rawQuery = q < 0 ? '' : req.url.slice(q + 1);
    const query = Object.fromEntries(new URLSearchParams(rawQuery));
    reply.header('cache-control', 'no-store');
    // whatever happens now, this state is spent: the browser forgets it too
    reply.header('set-cookie', cookie(STATE_COOKIE, '', secure(req), { path: COOKIE_PATH, maxAgeSeconds: 0 }));
    const r = await oidc.complete({ query, rawQuery, browserState: cookieValue(req, STATE_COOKIE), ip: req.ip });
    if (r.kind === 'signed-in') {
      openSession(req, reply, r.session, STATE_COOKIE);
      return reply.redirect(r.returnTo, 302);
    }
    reply.header('set-cookie', [
      cookie(STATE_COOKIE, '', secure(req), { path: COOKIE_PATH, maxAgeSeconds: 0 }),
      cookie(ONBOARD_COOKIE, r.token, secure(req), { path: COOKIE_PATH, maxAgeSeconds: PENDING_TTL_MS / 1000 }),
    ]);
    // Harbor's UI page where the user chooses a username
    const params = new URLSearchParams({ username: r.username, redirect_url: r.returnTo });
    return reply.redirect(`/oidc-onboard?${params.toString()}`, 302);
  });

  app.post<{ Body: Static<typeof OnboardReq> }>('/c/oidc/onboard', { schema: { body: OnboardReq } }, async (req, reply) => {
    const r = await oidc.onboard({ token: cookieValue(req, ONBOARD_COOKIE), username: req.body.username, ip: req.ip });
    openSession(req, reply, r.session, ONBOARD_COOKIE);
    return reply.header('cache-control', 'no-store').code(200).send();
  });

  app.post<{ Body: Static<typeof PingReq> }>('/api/v2.0/system/oidc/ping', { schema: { body: PingReq } }, async (req, reply) => {
    await requireApi(req, auth, 'update', systemResource('configuration'));
    await oidc.ping(req.body.url, req.body.verify_cert ?? true);
    return reply.code(200).send();
  });

  app.put<{ Params: Static<typeof UserIdParams>; Body: Static<typeof CliSecretReq> }>(
    '/api/v2.0/users/:user_id/cli_secret',
    { schema: { params: UserIdParams, body: CliSecretReq } },
    async (req) => {
      const p = req.principal;
      // Harbor: the user themself, or whoever may update users
      if (!(p.kind === 'user' && p.userId === req.params.user_id)) await requireApi(req, auth, 'update', systemResource('user'));
      const r = await oidc.setCliSecret({ principal: p, ip: req.ip }, req.params.user_id, req.body?.secret);
      // Harbor answers with no body; a secret Berth generated is returned, as nobody knows it yet
      return r.generated ? { secret: r.secret } : {};
    },
  );
}
