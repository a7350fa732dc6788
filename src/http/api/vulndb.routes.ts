import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type as T } from '@sinclair/typebox';
import { badRequest, forbidden, unauthorized } from '../../domain/errors.js';
import type { VulnSource } from '../../ports/vulndb-repo.js';
import type { UpdateOutcome, VulndbService } from '../../services/vulndb.service.js';

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

const SourceJson = T.Object({
  name: T.String(),
  kind: T.String(),
  records: T.Integer(),
  skipped: T.Integer(),
  update_time: T.Optional(T.String()),
  check_time: T.Optional(T.String()),
  url: T.Optional(T.String()),
  etag: T.Optional(T.String()),
  last_modified: T.Optional(T.String()),
  last_error: T.Optional(T.String()),
});

const OutcomeJson = T.Object({
  source: T.String(),
  status: T.String(),
  url: T.String(),
  records: T.Optional(T.Integer()),
  skipped: T.Optional(T.Integer()),
  error: T.Optional(T.String()),
});

const StatusJson = T.Object({
  generation: T.Integer(),
  sources: T.Array(SourceJson),
  mirror: T.Object({
    url: T.Optional(T.String()),
    update_interval_seconds: T.Integer(),
    updating: T.Boolean(),
    last_run: T.Optional(T.Object({ time: T.String(), feeds: T.Array(OutcomeJson) })),
  }),
});

const UpdateJson = T.Object({ generation: T.Integer(), feeds: T.Array(OutcomeJson) });

function sourceJson(s: VulnSource) {
  return {
    name: s.name,
    kind: s.kind,
    records: s.records,
    skipped: s.skipped,
    ...(s.updatedAt !== undefined ? { update_time: iso(s.updatedAt) } : {}),
    ...(s.checkedAt !== undefined ? { check_time: iso(s.checkedAt) } : {}),
    ...(s.url !== undefined ? { url: s.url } : {}),
    ...(s.etag !== undefined ? { etag: s.etag } : {}),
    ...(s.lastModified !== undefined ? { last_modified: s.lastModified } : {}),
    ...(s.lastError !== undefined ? { last_error: s.lastError } : {}),
  };
}

function outcomeJson(o: UpdateOutcome) {
  return {
    source: o.source,
    status: o.status,
    url: o.url,
    ...(o.status === 'updated' ? { records: o.records, skipped: o.skipped } : {}),
    ...(o.status === 'failed' ? { error: o.error } : {}),
  };
}

function requireSignedIn(req: FastifyRequest): void {
  if (req.principal.kind === 'anonymous') throw unauthorized('UnAuthorized');
}

/** Berth's vulnerability database: its state, and a mirror update on demand. */
export async function vulndbRoutes(app: FastifyInstance, deps: { vulndb: VulndbService }): Promise<void> {
  const { vulndb } = deps;

  app.get(
    '/api/v2.0/vulndb',
    { schema: { tags: ['vulndb'], operationId: 'getVulnDatabase', summary: 'Berth: the vulnerability database (sources, record counts, generation)', response: { 200: StatusJson } } },
    async (req) => {
      requireSignedIn(req);
      const s = await vulndb.status();
      return {
        generation: s.generation,
        sources: s.sources.map(sourceJson),
        mirror: {
          ...(s.mirror.url ? { url: s.mirror.url } : {}),
          update_interval_seconds: s.mirror.updateIntervalSeconds,
          updating: s.mirror.updating,
          ...(s.mirror.lastRun ? { last_run: { time: iso(s.mirror.lastRun.at)!, feeds: s.mirror.lastRun.feeds.map(outcomeJson) } } : {}),
        },
      };
    },
  );

  app.post(
    '/api/v2.0/vulndb/update',
    { schema: { tags: ['vulndb'], operationId: 'updateVulnDatabase', summary: 'Berth: fetch changed feeds from the configured mirror now (system admins)', response: { 200: UpdateJson } } },
    async (req) => {
      requireSignedIn(req);
      const p = req.principal;
      if (p.kind !== 'user' || !p.sysadmin) throw forbidden('only system administrators can update the vulnerability database');
      if (vulndb.mirrorFeeds().length === 0) throw badRequest('no vulnerability database mirror is configured (vulndb.mirrorUrl, vulndb.kevUrl, vulndb.epssUrl)');
      const r = await vulndb.update();
      return { generation: r.generation, feeds: r.feeds.map(outcomeJson) };
    },
  );
}
