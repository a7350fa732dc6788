import type { FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../domain/errors.js';
import { replyError } from '../errors.js';
import { HARBOR_OPERATIONS } from './harbor-operations.js';

const API_BASE = '/api/v2.0';

/** Path templates as patterns: a `{param}` is one path segment (Harbor encodes `/` inside names). */
const PATTERNS: readonly { method: string; path: string; re: RegExp }[] = HARBOR_OPERATIONS.map(([method, path]) => ({
  method,
  path,
  re: new RegExp(
    `^${API_BASE.replace(/\./g, '\\.')}${path
      .replace(/\/$/, '')
      .split(/\{[^}]+\}/)
      .map((s) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
      .join('[^/]+')}/?$`,
  ),
}));

/** The Harbor operation a request names, when Berth has no route for it. */
export function harborOperationOf(method: string, url: string): { method: string; path: string } | undefined {
  const path = url.split('?')[0]!;
  if (!path.startsWith(`${API_BASE}/`)) return undefined;
  const m = method === 'HEAD' ? ['HEAD', 'GET'] : [method];
  return PATTERNS.find((p) => m.includes(p.method) && p.re.test(path));
}

/**
 * The answer for a request no route took: 501 NOT_IMPLEMENTED when it is one of Harbor's
 * operations (a client must not read "not implemented" as "that resource is gone"), 404
 * NOT_FOUND otherwise; always Harbor's error body (dist-spec's on /v2), never an HTML page.
 */
export function replyNoRoute(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const url = req.url.split('?')[0]!.slice(0, 200);
  const op = harborOperationOf(req.method, req.url);
  const err = op
    ? new RegistryError('NOT_IMPLEMENTED', `${op.method} ${API_BASE}${op.path} is a Harbor API operation that Berth does not implement`)
    : new RegistryError('NOT_FOUND', `no route for ${req.method} ${url}`);
  return replyError(err, req, reply);
}
