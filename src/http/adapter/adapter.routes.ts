import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type as T } from '@sinclair/typebox';
import { badRequest, isRegistryError, RegistryError } from '../../domain/errors.js';
import { ADAPTER_MIME } from '../../ports/external-scanner.js';
import { type AdapterScanService, PRODUCED_MIME_TYPES } from '../../services/adapter-scan.service.js';
import { STATUS } from '../error-status.js';
import { harborReportJson } from './harbor-report.js';

const TAGS = ['scanner-adapter'];
const MAX_REQUEST_BYTES = 64 * 1024;
/** How soon a client should ask again for a report still being made (seconds). */
const REFRESH_AFTER_SECONDS = 1;

/** The spec's ErrorResponse, with the status of Berth's error table. */
function replyAdapterError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const fe = err as { statusCode?: number; message?: string; validation?: unknown };
  const e: RegistryError = isRegistryError(err)
    ? err
    : typeof fe?.statusCode === 'number' && fe.statusCode < 500
      ? new RegistryError(fe.validation ? 'UNPROCESSABLE_ENTITY' : 'BAD_REQUEST', fe.message ?? 'bad request')
      : new RegistryError('INTERNAL_ERROR', `internal server error (request id ${req.id})`);
  const status = STATUS[e.code];
  if (status >= 500 && e.code !== 'NOT_IMPLEMENTED') req.log.error({ err }, 'scanner adapter request failed');
  return reply.code(status).header('content-type', ADAPTER_MIME.error).send(JSON.stringify({ error: { message: e.message } }));
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The report type an Accept header asks for: one Berth produces, or the v1.1 report for any. */
function reportType(accept: string | undefined): string {
  if (!accept || accept.trim() === '' || accept.includes('*/*')) return ADAPTER_MIME.vulnReport11;
  const norm = (t: string) => t.replace(/\s+/g, '').toLowerCase();
  for (const part of accept.split(',')) {
    const hit = PRODUCED_MIME_TYPES.find((t) => norm(t) === norm(part));
    if (hit) return hit;
  }
  throw new RegistryError('NOT_IMPLEMENTED', `the scanner produces no ${accept.slice(0, 120)}: it produces ${PRODUCED_MIME_TYPES.join(', ')}`);
}

/**
 * Berth's built-in scanner as a Harbor scanner adapter (pluggable-scanner-spec v1.2 paths under
 * /api/v1): any Harbor, or another Berth, can register it. Every request carries the configured
 * API key, in X-ScannerAdapter-API-Key or as `Authorization: Bearer`.
 */
export async function adapterRoutes(app: FastifyInstance, deps: { scans: AdapterScanService; apiKey: string }): Promise<void> {
  const { scans } = deps;
  const key = digest(deps.apiKey);
  app.setErrorHandler((err, req, reply) => replyAdapterError(err, req, reply));
  app.addContentTypeParser(/^application\/(json|vnd\.scanner\.adapter\.scan\.request\+json)/, { parseAs: 'string', bodyLimit: MAX_REQUEST_BYTES }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(badRequest('the scan request is not valid JSON'), undefined);
    }
  });
  app.addHook('onRequest', async (req) => {
    const header = req.headers['x-scanneradapter-api-key'];
    const authz = req.headers.authorization;
    const given = typeof header === 'string' ? header : authz?.toLowerCase().startsWith('bearer ') ? authz.slice(7).trim() : undefined;
    // compared as digests: equal lengths, constant time
    if (given === undefined || !timingSafeEqual(digest(given), key)) {
      throw new RegistryError('UNAUTHORIZED', 'the scanner adapter needs its API key (X-ScannerAdapter-API-Key or Authorization: Bearer)');
    }
  });

  app.get('/api/v1/metadata', { schema: { tags: TAGS, operationId: 'adapterGetMetadata' } }, async (_req, reply) => {
    return reply.header('content-type', ADAPTER_MIME.metadata11).send(JSON.stringify(scans.metadata()));
  });

  app.post('/api/v1/scan', { schema: { tags: TAGS, operationId: 'adapterAcceptScanRequest' } }, async (req, reply) => {
    const id = scans.accept(req.body);
    return reply.code(202).header('content-type', ADAPTER_MIME.scanResponse).send(JSON.stringify({ id }));
  });

  app.get<{ Params: { scan_request_id: string } }>(
    '/api/v1/scan/:scan_request_id/report',
    { schema: { tags: TAGS, operationId: 'adapterGetScanReport', params: T.Object({ scan_request_id: T.String({ minLength: 1, maxLength: 128 }) }) } },
    async (req, reply) => {
      const type = reportType(req.headers.accept);
      const s = scans.report(req.params.scan_request_id);
      if (!s) throw new RegistryError('NOT_FOUND', `scan request ${req.params.scan_request_id.slice(0, 64)} is unknown (or its report expired)`);
      if (s.state === 'pending') {
        return reply.code(302).header('refresh-after', String(REFRESH_AFTER_SECONDS)).header('retry-after', String(REFRESH_AFTER_SECONDS)).send();
      }
      if (s.state === 'failed') throw new RegistryError('INTERNAL_ERROR', s.message);
      return reply.header('content-type', type).send(JSON.stringify(harborReportJson(s.report, scans.metadata().scanner)));
    },
  );
}
