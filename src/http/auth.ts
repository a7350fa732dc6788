import type { FastifyReply, FastifyRequest } from 'fastify';
import { denied, forbidden, unauthorized } from '../domain/errors.js';
import { type Action, ANONYMOUS, type Principal, type Resource, TOKEN_ACTION } from '../domain/permission.js';
import type { AccessService } from '../services/access.service.js';
import type { ResolvedSession, SessionService } from '../services/session.service.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
    /** set when the request was authenticated by a UI session cookie */
    session?: ResolvedSession;
  }
}

export interface AuthOptions {
  access: AccessService;
  sessions?: SessionService;
  service: string;
  externalUrl: string | undefined;
}

export const SESSION_COOKIE = 'sid';
export const CSRF_HEADER = 'x-harbor-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A cookie's value from the Cookie header (no cookie library for one cookie). */
export function cookieValue(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/**
 * Reads the credentials of a request: Basic, Bearer, a UI session cookie, or none (anonymous).
 * Bad ones are a 401. A state-changing request authenticated by the cookie must carry the
 * session's CSRF token in X-Harbor-CSRF-Token (403 otherwise).
 */
export async function authenticate(req: FastifyRequest, opts: AuthOptions): Promise<Principal> {
  const header = req.headers.authorization;
  if (!header) {
    const cookie = opts.sessions ? cookieValue(req, SESSION_COOKIE) : undefined;
    if (!cookie || !opts.sessions) return ANONYMOUS;
    const s = await opts.sessions.resolve(cookie);
    if (!s) return ANONYMOUS;
    if (!SAFE_METHODS.has(req.method) && req.headers[CSRF_HEADER] !== s.csrfToken) {
      throw forbidden('CSRF token invalid: send the X-Harbor-CSRF-Token of the session');
    }
    req.session = s;
    return s.principal;
  }
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const value = space < 0 ? '' : header.slice(space + 1).trim();
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw unauthorized('malformed Basic credentials');
    const p = await opts.access.authenticatePassword(decoded.slice(0, colon), decoded.slice(colon + 1), { ip: req.ip, channel: 'basic' });
    if (!p) throw unauthorized('invalid username or password');
    return p;
  }
  if (scheme === 'bearer') {
    const p = await opts.access.authenticateBearer(value);
    if (!p) throw unauthorized('invalid or expired token');
    return p;
  }
  throw unauthorized(`unsupported authorization scheme ${scheme.slice(0, 20)}`);
}

export function externalBase(req: FastifyRequest, configured: string | undefined): string {
  if (configured) return configured.replace(/\/+$/, '');
  const proto = (req.headers['x-forwarded-proto'] as string | undefined)?.split(',')[0]?.trim() || req.protocol;
  return `${proto}://${req.headers.host ?? req.hostname}`;
}

/** The dist-spec/Docker token challenge for a 401. */
export function challenge(req: FastifyRequest, opts: AuthOptions, scope?: string, error?: string): string {
  const realm = `${externalBase(req, opts.externalUrl)}/service/token`;
  return `Bearer realm="${realm}",service="${opts.service}"${scope ? `,scope="${scope}"` : ''}${error ? `,error="${error}"` : ''}`;
}

/** Docker's convention for the scope a 401 asks for: a push also needs pull. */
export function scopeFor(resource: Resource, action: Action): string | undefined {
  if (resource.scope === 'system') return resource.resource === 'catalog' ? 'registry:catalog:*' : undefined;
  if (resource.repository === undefined) return undefined;
  const tokenAction = Object.entries(TOKEN_ACTION).find(([, v]) => v.resource === resource.resource && v.action === action)?.[0];
  if (!tokenAction) return undefined;
  return `repository:${resource.repository}:${tokenAction === 'push' ? 'pull,push' : tokenAction}`;
}

/**
 * Authorises through the access service; refusal is 401 with a challenge when more credentials
 * could help (anonymous, or a token without the scope), 403 otherwise.
 */
export async function requireV2(req: FastifyRequest, reply: FastifyReply, opts: AuthOptions, action: Action, resource: Resource): Promise<void> {
  if (await opts.access.authorize(req.principal, action, resource)) return;
  const p = req.principal;
  if (p.kind === 'anonymous' || p.token) {
    const scope = scopeFor(resource, action);
    reply.header('www-authenticate', challenge(req, opts, scope, p.token ? 'insufficient_scope' : undefined));
    throw unauthorized('authentication required', scope ? { scope } : undefined);
  }
  throw denied();
}

export async function requireApi(req: FastifyRequest, opts: AuthOptions, action: Action, resource: Resource): Promise<void> {
  if (await opts.access.authorize(req.principal, action, resource)) return;
  if (req.principal.kind === 'anonymous') throw unauthorized('UnAuthorized');
  throw forbidden('forbidden');
}

