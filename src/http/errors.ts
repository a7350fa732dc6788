import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isRegistryError, RegistryError } from '../domain/errors.js';
import { STATUS } from './error-status.js';

/**
 * Shapes an error for the client. `/v2` answers the dist-spec's
 * `{"errors":[{"code","message","detail"}]}`; everything else Harbor's `{"errors":[{"code","message"}]}`.
 * Unexpected errors are logged with the request id and answered without internals.
 */
export function replyError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = toRegistryError(err, req);
  const status = STATUS[e.code];
  if (status >= 500 && e.code !== 'NOT_IMPLEMENTED') req.log.error({ err }, 'request failed');
  else req.log.debug({ code: e.code, msg: e.message }, 'request refused');
  const isV2 = req.url.startsWith('/v2');
  const body = isV2
    ? { errors: [{ code: e.code, message: e.message, ...(e.detail !== undefined ? { detail: e.detail } : {}) }] }
    : { errors: [{ code: e.code, message: e.message }] };
  reply.code(status).header('content-type', 'application/json; charset=utf-8');
  const retryAfter = (e.detail as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  if (e.code === 'TOOMANYREQUESTS' && typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  if (req.method === 'HEAD') return reply.send();
  return reply.send(body);
}

function toRegistryError(err: unknown, req: FastifyRequest): RegistryError {
  if (isRegistryError(err)) return err;
  const fe = err as FastifyError;
  if (typeof fe?.statusCode === 'number' && fe.statusCode < 500) {
    // Fastify's own validation and parsing errors
    if (fe.statusCode === 413) return new RegistryError('PAYLOAD_TOO_LARGE', fe.message);
    if (fe.statusCode === 404) return new RegistryError('NOT_FOUND', fe.message);
    if (fe.statusCode === 415) return new RegistryError('BAD_REQUEST', fe.message);
    return new RegistryError('BAD_REQUEST', fe.message);
  }
  return new RegistryError('INTERNAL_ERROR', `internal server error (request id ${req.id})`);
}
