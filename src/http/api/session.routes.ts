import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest, forbidden } from '../../domain/errors.js';
import type { UiLoginService } from '../../services/ui-login.service.js';
import { cookieValue, CSRF_HEADER, externalBase, SESSION_COOKIE } from '../auth.js';

/** The session cookie: HttpOnly (no script reads it), SameSite=Lax, Secure behind https. */
export function sessionCookie(value: string, secure: boolean, maxAgeSeconds?: number): string {
  const parts = [`${SESSION_COOKIE}=${encodeURIComponent(value)}`, 'Path=/', 'HttpOnly', 'SameSite=Lax'];
  if (maxAgeSeconds !== undefined) parts.push(`Max-Age=${maxAgeSeconds}`);
  if (secure) parts.push('Secure');
  return parts.join('; ');
}

/** principal and password, from Harbor's UI form (urlencoded) or a JSON body. */
function credentials(req: FastifyRequest): { username: string; password: string } {
  const b = req.body;
  const form = typeof b === 'string' ? new URLSearchParams(b) : undefined;
  const field = (k: string): unknown => (form ? form.get(k) : b && typeof b === 'object' ? (b as Record<string, unknown>)[k] : undefined);
  const username = field('principal');
  const password = field('password');
  if (typeof username !== 'string' || username === '' || typeof password !== 'string' || password === '') {
    throw badRequest('principal and password are required');
  }
  return { username, password };
}

/**
 * Harbor's UI sign-in: POST /c/login (form fields principal, password) opens a session cookie
 * and answers the session's CSRF token in X-Harbor-CSRF-Token; GET /c/log_out ends it.
 */
export async function sessionRoutes(app: FastifyInstance, deps: { login: UiLoginService; externalUrl: string | undefined }): Promise<void> {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => done(null, body));
  const base = (req: FastifyRequest) => externalBase(req, deps.externalUrl);
  const secure = (req: FastifyRequest) => base(req).startsWith('https:');

  app.post('/c/login', { schema: { tags: ['session'], summary: 'UI sign-in: form fields principal, password; sets the sid cookie' } }, async (req, reply) => {
    // login CSRF: another site's form must not sign the browser in to an account of its choosing
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== new URL(base(req)).origin) throw forbidden('sign-in from another origin refused');
    const { username, password } = credentials(req);
    const { session } = await deps.login.login({ username, password, ip: req.ip });
    return reply
      .header('set-cookie', sessionCookie(session.cookie, secure(req)))
      .header(CSRF_HEADER, session.csrfToken)
      .header('cache-control', 'no-store')
      .code(200)
      .send();
  });

  app.get('/c/log_out', { schema: { tags: ['session'], summary: 'UI sign-out' } }, async (req, reply) => {
    await deps.login.logout(cookieValue(req, SESSION_COOKIE), req.ip);
    return reply.header('set-cookie', sessionCookie('', secure(req), 0)).code(200).send();
  });
}
