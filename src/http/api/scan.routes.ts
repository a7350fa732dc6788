import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { projectResource, systemResource } from '../../domain/permission.js';
import type { ScanAllService } from '../../services/scan-all.service.js';
import type { ScanService } from '../../services/scan.service.js';
import { repositoryNameOf } from '../../services/repository.service.js';
import { type AuthOptions, requireApi } from '../auth.js';
import { RepositoryParams } from './repositories.routes.js';
import { findingsCsv } from '../../domain/findings-csv.js';
import { acceptedReportMimes, VULN_REPORT_MIME, vulnerabilityReportJson } from './scan-json.js';

const ArtifactParams = T.Object({ ...RepositoryParams.properties, reference: T.String({ minLength: 1, maxLength: 200 }) });
// Harbor's ScanType; the body is optional
const ScanType = T.Union([T.Object({ scan_type: T.Optional(T.Union([T.Literal('vulnerability'), T.Literal('sbom')])) }, { additionalProperties: true }), T.Null()]);
const ScheduleBody = T.Object(
  {
    schedule: T.Object(
      {
        type: T.Union([T.Literal('Hourly'), T.Literal('Daily'), T.Literal('Weekly'), T.Literal('Custom'), T.Literal('Manual'), T.Literal('None'), T.Literal('Schedule')]),
        cron: T.Optional(T.String({ maxLength: 200 })),
        next_scheduled_time: T.Optional(T.String()),
      },
      { additionalProperties: true },
    ),
    parameters: T.Optional(T.Record(T.String(), T.Unknown())),
  },
  { additionalProperties: true },
);

const BASE = '/api/v2.0/projects/:project_name/repositories/:repository_name/artifacts/:reference';
const iso = (ms: number) => new Date(ms).toISOString();

export async function scanRoutes(app: FastifyInstance, deps: { scans: ScanService; scanAll: ScanAllService; auth: AuthOptions }): Promise<void> {
  const { scans, scanAll, auth } = deps;
  const nameOf = (p: Static<typeof ArtifactParams>) => repositoryNameOf(p.project_name, p.repository_name);
  const tags = ['scan'];

  app.post<{ Params: Static<typeof ArtifactParams>; Body: Static<typeof ScanType> }>(
    `${BASE}/scan`,
    { schema: { tags, operationId: 'scanArtifact', summary: 'Scan the artifact (queued; an index through its children)', params: ArtifactParams, body: T.Optional(ScanType) } },
    async (req, reply) => {
      await requireApi(req, auth, 'create', projectResource(req.params.project_name, 'scan'));
      await scans.requestScan(nameOf(req.params), req.params.reference);
      return reply.code(202).send();
    },
  );

  app.post<{ Params: Static<typeof ArtifactParams>; Body: Static<typeof ScanType> }>(
    `${BASE}/scan/stop`,
    { schema: { tags, operationId: 'stopScanArtifact', summary: 'Cancel the queued or running scan of the artifact', params: ArtifactParams, body: T.Optional(ScanType) } },
    async (req, reply) => {
      await requireApi(req, auth, 'stop', projectResource(req.params.project_name, 'scan'));
      await scans.stop(nameOf(req.params), req.params.reference);
      return reply.code(202).send();
    },
  );

  const LogParams = T.Object({ ...ArtifactParams.properties, report_id: T.String({ minLength: 1, maxLength: 100 }) });
  app.get<{ Params: Static<typeof LogParams> }>(
    `${BASE}/scan/:report_id/log`,
    { schema: { tags, operationId: 'getReportLog', summary: 'The scan of the artifact as text: record, job attempts, inventory and its warnings, summary', params: LogParams } },
    async (req, reply) => {
      await requireApi(req, auth, 'read', projectResource(req.params.project_name, 'scan'));
      const text = await scans.log(nameOf(req.params), req.params.reference, req.params.report_id);
      return reply.header('content-type', 'text/plain; charset=utf-8').send(text);
    },
  );

  app.get<{ Params: Static<typeof ArtifactParams> }>(
    `${BASE}/additions/vulnerabilities`,
    {
      schema: {
        tags: ['artifact'],
        operationId: 'getVulnerabilitiesAddition',
        summary: 'The vulnerability report of the artifact, keyed by report type (X-Accept-Vulnerabilities)',
        params: ArtifactParams,
      },
    },
    async (req, reply) => {
      await requireApi(req, auth, 'read', projectResource(req.params.project_name, 'artifact-addition'));
      const r = await scans.report(nameOf(req.params), req.params.reference);
      const mimes = acceptedReportMimes(req.headers['x-accept-vulnerabilities']);
      reply.header('content-type', 'application/json; charset=utf-8');
      return vulnerabilityReportJson({ repository: r.repo.name, digest: r.digest, mediaType: r.mediaType, ...(r.scan ? { scan: r.scan } : {}), findings: r.findings, mimeTypes: mimes.length ? mimes : [VULN_REPORT_MIME] });
    },
  );

  app.get<{ Params: Static<typeof ArtifactParams> }>(
    `${BASE}/additions/vulnerabilities.csv`,
    { schema: { tags: ['artifact'], operationId: 'exportVulnerabilitiesCsv', summary: 'Berth: the findings of the artifact as CSV', params: ArtifactParams } },
    async (req, reply) => {
      await requireApi(req, auth, 'read', projectResource(req.params.project_name, 'artifact-addition'));
      const r = await scans.report(nameOf(req.params), req.params.reference);
      const file = `${r.repo.name.replace(/[^A-Za-z0-9._-]+/g, '_')}_${r.digest.replace(':', '-').slice(0, 19)}_vulnerabilities.csv`;
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${file}"`)
        .send(Readable.from(findingsCsv(r.repo.name, r.digest, r.findings)));
    },
  );

  const scheduleJson = async () => {
    const s = await scanAll.schedule();
    if (!s || s.type === 'None') return {};
    return {
      id: 1,
      creation_time: iso(s.createdAt),
      update_time: iso(s.updatedAt),
      schedule: { type: s.type, cron: s.cron, ...(s.nextRunAt !== null ? { next_scheduled_time: iso(s.nextRunAt) } : {}) },
    };
  };

  app.get('/api/v2.0/system/scanAll/schedule', { schema: { tags: ['scanAll'], operationId: 'getScanAllSchedule', summary: 'The scan-all schedule' } }, async (req) => {
    await requireApi(req, auth, 'read', systemResource('scan-all'));
    return scheduleJson();
  });

  for (const method of ['post', 'put'] as const) {
    app[method]<{ Body: Static<typeof ScheduleBody> }>(
      '/api/v2.0/system/scanAll/schedule',
      {
        schema: {
          tags: ['scanAll'],
          operationId: method === 'post' ? 'createScanAllSchedule' : 'updateScanAllSchedule',
          summary: 'Set the scan-all schedule (Hourly, Daily, Weekly, Custom with a cron, None), or run it now (Manual)',
          body: ScheduleBody,
        },
      },
      async (req, reply) => {
        await requireApi(req, auth, method === 'post' ? 'create' : 'update', systemResource('scan-all'));
        await scanAll.setSchedule({ type: req.body.schedule.type, ...(req.body.schedule.cron !== undefined ? { cron: req.body.schedule.cron } : {}) });
        return reply.code(method === 'post' ? 201 : 200).send();
      },
    );
  }

  app.post('/api/v2.0/system/scanAll/stop', { schema: { tags: ['scanAll'], operationId: 'stopScanAll', summary: 'Stop the running scan-all: its queued and running scans are cancelled' } }, async (req, reply) => {
    await requireApi(req, auth, 'stop', systemResource('scan-all'));
    await scanAll.stop();
    return reply.code(202).send();
  });

  const metricsJson = async (trigger?: 'Manual' | 'Schedule') => {
    const m = await scanAll.metrics(undefined, trigger);
    return { total: m.total, completed: m.completed, metrics: m.metrics, ongoing: m.ongoing, trigger: m.trigger, requester: m.run ? String(m.run.id) : '' };
  };
  app.get('/api/v2.0/scans/all/metrics', { schema: { tags: ['scanAll'], operationId: 'getLatestScanAllMetrics', summary: 'Progress of the latest scan-all' } }, async (req) => {
    await requireApi(req, auth, 'read', systemResource('scan-all'));
    return metricsJson();
  });
  app.get('/api/v2.0/scans/schedule/metrics', { schema: { tags: ['scanAll'], operationId: 'getLatestScheduledScanAllMetrics', summary: 'Progress of the latest scheduled scan-all' } }, async (req) => {
    await requireApi(req, auth, 'read', systemResource('scan-all'));
    return metricsJson('Schedule');
  });
}
