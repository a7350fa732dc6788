import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { badRequest, notFound } from '../../domain/errors.js';
import { projectResource, systemResource } from '../../domain/permission.js';
import { asTime, checkConditions, checkSort, type Conditions, parseQuery, parseSort } from '../../domain/query.js';
import type { AuditRecord } from '../../ports/audit-repo.js';
import type { AuditPage, AuditQuery, AuditService, PurgeRun } from '../../services/audit.service.js';
import type { ProjectService } from '../../services/project.service.js';
import { type AuthOptions, requireApi } from '../auth.js';
import { MAX_PAGE_SIZE } from './paging.js';

export interface AuditRouteDeps {
  audit: AuditService;
  projects: ProjectService;
  auth: AuthOptions;
}

const ListQuery = T.Object({
  q: T.Optional(T.String({ maxLength: 4096, description: 'operation, resource_type, resource (=~ fuzzy), username, op_time=[from~to]' })),
  sort: T.Optional(T.String({ description: 'op_time or -op_time (the default)' })),
  page: T.Optional(T.Integer({ minimum: 1, default: 1 })),
  page_size: T.Optional(T.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 10 })),
  before_id: T.Optional(T.Integer({ minimum: 1, description: 'Berth: keyset cursor, the last id of the previous page (see the Link header)' })),
});

const AuditLog = T.Object({
  id: T.Integer(),
  username: T.String(),
  resource: T.String(),
  resource_type: T.String(),
  operation: T.String(),
  op_time: T.String({ format: 'date-time' }),
  result: T.Union([T.Literal('success'), T.Literal('failure')], { description: 'Berth' }),
  source_ip: T.String({ description: 'Berth' }),
});

const ProjectName = T.Object({ project_name: T.String({ minLength: 1, maxLength: 255 }) });
const VerifyQuery = T.Object({ from_id: T.Optional(T.Integer({ minimum: 1 })), to_id: T.Optional(T.Integer({ minimum: 1 })) });
const ExportQuery = T.Object({
  from: T.Optional(T.String({ description: 'start of the range (inclusive), e.g. 2024-01-01T00:00:00Z' })),
  to: T.Optional(T.String({ description: 'end of the range (inclusive)' })),
});
const PurgeId = T.Object({ purge_id: T.Integer({ minimum: 1 }) });

const Schedule = T.Object(
  {
    schedule: T.Optional(
      T.Object({ type: T.Optional(T.String()), cron: T.Optional(T.String()) }, { additionalProperties: true }),
    ),
    parameters: T.Optional(
      T.Object(
        {
          audit_retention_hour: T.Optional(T.Integer({ minimum: 0 })),
          dry_run: T.Optional(T.Boolean()),
          include_operations: T.Optional(T.String()),
          include_event_types: T.Optional(T.String()),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: true },
);

const QUERY_KEYS = {
  operation: ['exact'],
  resource_type: ['exact'],
  resource: ['exact', 'fuzzy'],
  username: ['exact'],
  op_time: ['range'],
} as const;

/** Harbor's legacy AuditLog JSON, plus Berth's result and source_ip. */
export function auditLogJson(r: AuditRecord) {
  return {
    id: r.id,
    username: r.operator,
    resource: r.resource,
    resource_type: r.resourceType,
    operation: r.operation,
    op_time: new Date(r.at).toISOString(),
    result: r.result,
    source_ip: r.sourceIp,
  };
}

/** The export line: the whole record, hashes included, so that a shipped copy can be verified. */
function exportJson(r: AuditRecord) {
  return { ...auditLogJson(r), project_id: r.projectId, detail: r.detail, prev_hash: r.prevHash, hash: r.hash };
}

function toQuery(raw: Static<typeof ListQuery>, projectId?: number): AuditQuery {
  const conds: Conditions = parseQuery(raw.q);
  checkConditions(conds, QUERY_KEYS);
  const sort = parseSort(raw.sort);
  checkSort(sort, ['op_time']);
  const q: AuditQuery = {
    page: raw.page ?? 1,
    pageSize: raw.page_size ?? 10,
    ascending: sort[0] !== undefined && !sort[0].desc,
    ...(raw.before_id !== undefined ? { cursor: raw.before_id } : {}),
    ...(projectId !== undefined ? { projectId } : {}),
  };
  for (const [key, c] of conds) {
    const v = c.op === 'exact' || c.op === 'fuzzy' ? c.value : undefined;
    if (key === 'operation') q.operation = v!;
    else if (key === 'resource_type') q.resourceType = v!;
    else if (key === 'username') q.operator = v!;
    // Harbor matches resources by substring
    else if (key === 'resource') q.resource = v!;
    else if (key === 'op_time' && c.op === 'range') {
      if (c.min !== undefined) q.from = asTime('op_time', c.min);
      if (c.max !== undefined) q.to = asTime('op_time', c.max);
    }
  }
  return q;
}

/** Harbor's headers, with the Link next page carrying Berth's keyset cursor as well. */
function pageHeaders(req: FastifyRequest, reply: FastifyReply, q: AuditQuery, page: AuditPage): void {
  reply.header('x-total-count', String(page.total));
  if (page.estimated) reply.header('x-total-count-estimated', 'true');
  const [path, qs] = (req.raw.url ?? '').split('?');
  const at = (p: number, cursor?: number) => {
    const params = new URLSearchParams(qs ?? '');
    params.set('page', String(p));
    params.set('page_size', String(q.pageSize));
    params.delete('before_id');
    if (cursor !== undefined) params.set('before_id', String(cursor));
    return `<${path}?${params.toString()}>`;
  };
  const links: string[] = [];
  if (q.page > 1 && q.cursor === undefined) links.push(`${at(q.page - 1)}; rel="prev"`);
  const last = page.items[page.items.length - 1];
  if (page.more && last) links.push(`${at(q.page + 1, q.ascending ? undefined : last.id)}; rel="next"`);
  if (links.length) reply.header('link', links.join(' , '));
}

function parseTime(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) throw badRequest(`${name} must be an ISO 8601 time or epoch milliseconds`);
  return ms;
}

/** Harbor's ExecHistory for a purge that ran (the retention record in the log). */
function purgeJson(r: PurgeRun) {
  const iso = new Date(r.at).toISOString();
  return {
    id: r.id,
    job_name: 'PURGE_AUDIT_LOG',
    job_kind: 'SCHEDULE',
    job_parameters: JSON.stringify({ deleted: r.deleted, before: new Date(r.before).toISOString(), through_id: r.throughId, anchor: r.anchor }),
    schedule: { type: 'Custom' },
    job_status: 'Success',
    deleted: false,
    creation_time: iso,
    update_time: iso,
  };
}

export async function auditRoutes(app: FastifyInstance, deps: AuditRouteDeps): Promise<void> {
  const { audit, projects, auth } = deps;
  const admin = (req: FastifyRequest) => requireApi(req, auth, 'list', systemResource('audit-log'));

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/v2.0/audit-logs',
    { schema: { tags: ['auditlog'], summary: 'List audit logs (system admins)', querystring: ListQuery, response: { 200: T.Array(AuditLog) } } },
    async (req, reply) => {
      await admin(req);
      const q = toQuery(req.query);
      const page = await audit.list(q);
      pageHeaders(req, reply, q, page);
      return page.items.map(auditLogJson);
    },
  );

  app.get<{ Params: Static<typeof ProjectName>; Querystring: Static<typeof ListQuery> }>(
    '/api/v2.0/projects/:project_name/logs',
    {
      schema: { tags: ['project'], summary: "List a project's audit logs", params: ProjectName, querystring: ListQuery, response: { 200: T.Array(AuditLog) } },
    },
    async (req, reply) => {
      const name = req.params.project_name;
      // the right first, so that nobody learns which private projects exist
      await requireApi(req, auth, 'list', projectResource(name, 'log'));
      const project = await projects.find(name, false);
      const q = toQuery(req.query, project.id);
      const page = await audit.list(q);
      pageHeaders(req, reply, q, page);
      return page.items.map(auditLogJson);
    },
  );

  app.get<{ Querystring: Static<typeof VerifyQuery> }>(
    '/api/v2.0/audit-logs/verify',
    { schema: { tags: ['auditlog'], summary: 'Berth: verify the hash chain of the audit log (system admins)', querystring: VerifyQuery } },
    async (req) => {
      await admin(req);
      const r = await audit.verify({
        ...(req.query.from_id !== undefined ? { fromId: req.query.from_id } : {}),
        ...(req.query.to_id !== undefined ? { toId: req.query.to_id } : {}),
      });
      return {
        ok: r.ok,
        checked: r.checked,
        first_id: r.firstId,
        last_id: r.lastId,
        anchor: r.anchor,
        anchor_known: r.anchorKnown,
        head: r.head,
        ...(r.broken ? { broken: { id: r.broken.id, reason: r.broken.reason, expected: r.broken.expected, actual: r.broken.actual } } : {}),
      };
    },
  );

  app.get<{ Querystring: Static<typeof ExportQuery> }>(
    '/api/v2.0/audit-logs/export',
    {
      schema: {
        tags: ['auditlog'],
        summary: 'Berth: stream the audit records of a time range as NDJSON, oldest first, hashes included (system admins)',
        querystring: ExportQuery,
      },
    },
    async (req, reply) => {
      await admin(req);
      const from = parseTime('from', req.query.from);
      const to = parseTime('to', req.query.to);
      const records = audit.export({ ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) });
      async function* lines() {
        for await (const r of records) yield `${JSON.stringify(exportJson(r))}\n`;
      }
      // a Readable from the generator pulls one batch at a time, as fast as the client reads
      return reply.header('content-type', 'application/x-ndjson').header('cache-control', 'no-store').send(Readable.from(lines(), { highWaterMark: 16 }));
    },
  );

  // Harbor's purge-audit job, as much as Berth has of it: one retention setting (hours) that a
  // periodic task applies, and the purges it ran, read back from the log itself.
  app.get(
    '/api/v2.0/system/purgeaudit/schedule',
    { schema: { tags: ['purge'], summary: "The audit retention as Harbor's purge schedule" } },
    async (req) => {
      await admin(req);
      const hours = await audit.retentionHours();
      return {
        id: 1,
        job_name: 'PURGE_AUDIT_LOG',
        job_kind: 'SCHEDULE',
        job_parameters: JSON.stringify({ audit_retention_hour: hours, dry_run: false }),
        schedule: { type: hours > 0 ? 'Custom' : 'None', cron: hours > 0 ? '0 */10 * * * *' : '' },
        job_status: hours > 0 ? 'Scheduled' : '',
        deleted: false,
      };
    },
  );

  const setSchedule = async (req: FastifyRequest<{ Body: Static<typeof Schedule> }>, reply: FastifyReply, status: number) => {
    await requireApi(req, auth, 'update', systemResource('configuration'));
    const type = req.body.schedule?.type;
    const hours = type === 'None' ? 0 : req.body.parameters?.audit_retention_hour;
    if (hours === undefined) throw badRequest('parameters.audit_retention_hour is required (or schedule.type None to keep records forever)');
    await audit.setRetentionHours(hours, { principal: req.principal, ip: req.ip });
    // a manual run purges now
    if (type === 'Manual') await audit.purgeExpired();
    return reply.code(status).send();
  };
  const scheduleSchema = { tags: ['purge'], summary: 'Set audit_log_retention_hours (schedule.type None: keep forever; Manual: also purge now)', body: Schedule };
  app.post<{ Body: Static<typeof Schedule> }>('/api/v2.0/system/purgeaudit/schedule', { schema: scheduleSchema }, (req, reply) => setSchedule(req, reply, 201));
  app.put<{ Body: Static<typeof Schedule> }>('/api/v2.0/system/purgeaudit/schedule', { schema: scheduleSchema }, (req, reply) => setSchedule(req, reply, 200));

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/v2.0/system/purgeaudit',
    { schema: { tags: ['purge'], summary: 'The retention purges recorded in the audit log, newest first', querystring: ListQuery } },
    async (req, reply) => {
      await admin(req);
      const size = req.query.page_size ?? 10;
      const runs = await audit.purgeRuns(size, req.query.before_id);
      reply.header('x-total-count', String(runs.length));
      return runs.map(purgeJson);
    },
  );

  app.get<{ Params: Static<typeof PurgeId> }>(
    '/api/v2.0/system/purgeaudit/:purge_id',
    { schema: { tags: ['purge'], summary: 'One retention purge', params: PurgeId } },
    async (req) => {
      await admin(req);
      return purgeJson(await audit.purgeRun(req.params.purge_id));
    },
  );

  app.get<{ Params: Static<typeof PurgeId> }>(
    '/api/v2.0/system/purgeaudit/:purge_id/log',
    { schema: { tags: ['purge'], summary: 'The log of one retention purge', params: PurgeId } },
    async (req, reply) => {
      await admin(req);
      const r = await audit.purgeRun(req.params.purge_id).catch(() => {
        throw notFound(`purge ${req.params.purge_id} not found`);
      });
      return reply
        .header('content-type', 'text/plain; charset=utf-8')
        .send(
          `${new Date(r.at).toISOString()} purged ${r.deleted} audit records older than ${new Date(r.before).toISOString()} (ids up to ${r.throughId}); chain anchor ${r.anchor ?? 'none (log empty)'}\n`,
        );
    },
  );
}
