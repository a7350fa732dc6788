import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest, unauthorized } from '../domain/errors.js';
import type { Principal } from '../domain/permission.js';
import { type AuthOptions, authenticate } from './auth.js';

/**
 * The Docker token service (distribution's token spec): GET with Basic credentials or none,
 * and the OAuth2 POST form that containerd and newer Docker clients send.
 */
export async function tokenRoutes(app: FastifyInstance, auth: AuthOptions): Promise<void> {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) =>
    done(null, body),
  );
  app.get('/service/token', async (req, reply) => {
    const q = new URLSearchParams((req.raw.url ?? '').split('?')[1] ?? '');
    checkService(q.get('service'), auth.service);
    const principal = await authenticate(req, auth);
    const issued = await auth.access.issueToken(principal, q.getAll('scope'));
    return reply.header('cache-control', 'no-store').send({
      token: issued.token,
      access_token: issued.token,
      expires_in: issued.expiresIn,
      issued_at: issued.issuedAt,
    });
  });

  app.post('/service/token', async (req, reply) => {
    const form = formBody(req);
    checkService(form.get('service'), auth.service);
    let principal: Principal;
    const grant = form.get('grant_type');
    if (grant === 'password') {
      // the source makes a failed attempt throttled per address and audited with it
      const p = await auth.access.authenticatePassword(form.get('username') ?? '', form.get('password') ?? '', { ip: req.ip, channel: 'token' });
      if (!p) throw unauthorized('invalid username or password');
      principal = p;
    } else if (grant === 'refresh_token') {
      // Berth issues no refresh tokens; a client holding one from elsewhere must log in again
      throw unauthorized('refresh tokens are not supported; use grant_type=password');
    } else if (grant !== null) {
      throw badRequest(`unsupported grant_type ${grant.slice(0, 50)}`);
    } else {
      principal = await authenticate(req, auth);
    }
    const issued = await auth.access.issueToken(principal, form.getAll('scope').flatMap((s) => s.split(' ')));
    return reply.header('cache-control', 'no-store').send({
      access_token: issued.token,
      token: issued.token,
      expires_in: issued.expiresIn,
      issued_at: issued.issuedAt,
      scope: form.getAll('scope').join(' '),
    });
  });
}

function checkService(asked: string | null, service: string): void {
  if (asked !== null && asked !== service) throw badRequest(`unknown service ${asked.slice(0, 100)}; this registry's service is ${service}`);
}

function formBody(req: FastifyRequest): URLSearchParams {
  const b = req.body;
  if (typeof b === 'string') return new URLSearchParams(b);
  if (b && typeof b === 'object') return new URLSearchParams(b as Record<string, string>);
  return new URLSearchParams();
}
