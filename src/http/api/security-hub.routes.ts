import type { FastifyInstance } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { systemResource } from '../../domain/permission.js';
import type { FindingHit } from '../../ports/finding-index.js';
import type { SecurityHubService, SecuritySummary } from '../../services/security-hub.service.js';
import { type AuthOptions, requireApi } from '../auth.js';
import { PagingQuery, pageWindow, setPageHeaders } from './paging.js';

const SummaryQuery = T.Object({
  with_dangerous_cve: T.Optional(T.Boolean({ default: true, description: 'include the five most dangerous CVEs' })),
  with_dangerous_artifact: T.Optional(T.Boolean({ default: true, description: 'include the five most dangerous artifacts' })),
});

const VulQuery = T.Object({
  q: T.Optional(
    T.String({
      maxLength: 4096,
      description: 'cve_id (=, =~), severity (=, {a b}), cvss_score_v3 (=, [min~max]), project_id (=, {a b}), repository_name (=, =~), package (=, =~), tag, digest',
    }),
  ),
  tune_count: T.Optional(T.Boolean({ default: false, description: 'X-Total-Count is -1 once more than 1000 findings match' })),
  with_tag: T.Optional(T.Boolean({ default: false, description: 'include the tags of each artifact' })),
  ...PagingQuery,
});

/** Harbor's SecuritySummary */
export function securitySummaryJson(s: SecuritySummary) {
  return {
    critical_cnt: s.bySeverity.Critical,
    high_cnt: s.bySeverity.High,
    medium_cnt: s.bySeverity.Medium,
    low_cnt: s.bySeverity.Low,
    none_cnt: s.bySeverity.None,
    unknown_cnt: s.bySeverity.Unknown,
    total_vuls: s.total,
    scanned_cnt: s.scanned,
    total_artifact: s.artifacts,
    fixable_cnt: s.fixable,
    ...(s.dangerousCves
      ? {
          dangerous_cves: s.dangerousCves.map((c) => ({
            cve_id: c.cveId,
            severity: c.severity,
            cvss_score_v3: c.cvssScore ?? 0,
            desc: c.summary,
            package: c.package,
            version: c.version,
          })),
        }
      : {}),
    ...(s.dangerousArtifacts
      ? {
          dangerous_artifacts: s.dangerousArtifacts.map((a) => ({
            project_id: a.projectId,
            repository_name: a.repositoryName,
            digest: a.digest,
            critical_cnt: a.critical,
            high_cnt: a.high,
            medium_cnt: a.medium,
          })),
        }
      : {}),
  };
}

/** Harbor's VulnerabilityItem, plus Berth's advisory id and the CVSS version of the score. */
export function vulnerabilityItemJson(h: FindingHit) {
  return {
    project_id: h.projectId,
    repository_name: h.repositoryName,
    digest: h.digest,
    ...(h.tags ? { tags: h.tags } : {}),
    cve_id: h.cveId,
    severity: h.severity,
    // Harbor's field is the v3 score; a finding rated by CVSS v4 or v2 only has none
    cvss_v3_score: h.cvssScore !== null && h.cvssVersion?.startsWith('3') ? h.cvssScore : 0,
    package: h.package,
    version: h.version,
    fixed_version: h.fixedVersion,
    desc: h.summary,
    links: h.link ? [h.link] : [],
    vulnerability_id: h.vulnId,
    cvss_score: h.cvssScore,
    cvss_version: h.cvssVersion,
  };
}

/** Harbor's security hub: the findings of every scanned image of the registry, for system admins. */
export async function securityHubRoutes(app: FastifyInstance, deps: { securityHub: SecurityHubService; auth: AuthOptions }): Promise<void> {
  const { securityHub, auth } = deps;
  const tags = ['securityhub'];

  app.get<{ Querystring: Static<typeof SummaryQuery> }>(
    '/api/v2.0/security/summary',
    { schema: { tags, operationId: 'getSecuritySummary', summary: 'Findings per severity over every scanned image, with the most dangerous CVEs and artifacts', querystring: SummaryQuery } },
    async (req) => {
      await requireApi(req, auth, 'read', systemResource('security-hub'));
      const s = await securityHub.summary({ withDangerousCves: req.query.with_dangerous_cve ?? true, withDangerousArtifacts: req.query.with_dangerous_artifact ?? true });
      return securitySummaryJson(s);
    },
  );

  app.get<{ Querystring: Static<typeof VulQuery> }>(
    '/api/v2.0/security/vul',
    { schema: { tags, operationId: 'listVulnerabilities', summary: 'The findings of every scanned image, filtered by q, highest severity and score first', querystring: VulQuery } },
    async (req, reply) => {
      await requireApi(req, auth, 'list', systemResource('security-hub'));
      const w = pageWindow(req.query);
      const r = await securityHub.vulnerabilities({
        ...(req.query.q !== undefined ? { q: req.query.q } : {}),
        offset: w.offset,
        limit: w.size,
        tuneCount: req.query.tune_count ?? false,
        withTag: req.query.with_tag ?? false,
      });
      setPageHeaders(req, reply, r.total, w.page, w.size);
      return r.items.map(vulnerabilityItemJson);
    },
  );
}
