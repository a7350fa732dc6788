import type { Finding } from '../../domain/vulnerability.js';
import type { ScanRecord, ScanStatus } from '../../ports/scan-repo.js';

/** Harbor's native report type (Harbor 2.x) and the older one it still accepts. */
export const VULN_REPORT_MIME = 'application/vnd.security.vulnerability.report; version=1.1';
export const VULN_REPORT_MIME_10 = 'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0';
const KNOWN_MIMES = [VULN_REPORT_MIME, VULN_REPORT_MIME_10];

const norm = (m: string) => m.replace(/\s+/g, '').toLowerCase();

/**
 * The report types an `X-Accept-Vulnerabilities` header asks for, as Harbor reads it: a comma
 * list; absent means Harbor's default (the native type). Berth keeps one report per artifact and
 * keys it by the first known type asked for.
 */
export function acceptedReportMimes(header: string | string[] | undefined): string[] {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value === undefined || value.trim() === '') return [VULN_REPORT_MIME];
  // parameters hold commas only inside a list item's own `; version=` part, never: split on `,`
  const asked = value.split(',').map(norm);
  const first = KNOWN_MIMES.find((m) => asked.includes(norm(m)));
  return first ? [first] : [];
}

const STATUS: Record<ScanStatus, string> = { pending: 'Pending', running: 'Running', done: 'Success', error: 'Error', stopped: 'Stopped' };
const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());

export function scannerJson(name: string) {
  return name === 'Berth' || name === '' ? { name: 'Berth', vendor: 'Berth', version: '1' } : { name, vendor: name, version: '' };
}

/** Harbor's NativeReportSummary, keyed by mime type (an artifact's `scan_overview`). */
export function scanOverviewJson(o: { mimeTypes: readonly string[]; scan: ScanRecord }): Record<string, unknown> {
  const s = o.scan;
  const done = s.status === 'done';
  const summary = s.summary;
  const overview = {
    report_id: s.reportId,
    scan_status: STATUS[s.status],
    severity: summary ? summary.highest : '',
    duration: s.startedAt !== null && s.endedAt !== null && s.endedAt >= s.startedAt ? Math.round((s.endedAt - s.startedAt) / 1000) : 0,
    ...(summary ? { summary: { total: summary.total, fixable: summary.fixable, summary: summary.summary } } : {}),
    ...(s.startedAt !== null ? { start_time: iso(s.startedAt) } : {}),
    ...(s.endedAt !== null ? { end_time: iso(s.endedAt) } : {}),
    complete_percent: done ? 100 : 0,
    scanner: scannerJson(s.scanner),
  };
  return Object.fromEntries(o.mimeTypes.map((m) => [m, overview]));
}

export function vulnerabilityJson(f: Finding, artifactDigest: string) {
  const v3 = f.cvss && (f.cvss.version === '3.1' || f.cvss.version === '3.0') ? f.cvss : undefined;
  const v2 = f.cvss?.version === '2.0' ? f.cvss : undefined;
  const v4 = f.cvss?.version === '4.0' ? f.cvss : undefined;
  return {
    id: f.id,
    package: f.package,
    version: f.version,
    fix_version: f.fixVersions.join(', '),
    severity: f.severity,
    description: f.description || f.summary,
    links: f.links,
    artifact_digests: [artifactDigest],
    preferred_cvss: {
      score_v3: v3?.baseScore ?? null,
      score_v2: v2?.baseScore ?? null,
      vector_v3: v3?.vector ?? '',
      vector_v2: v2?.vector ?? '',
      // Berth: CVSS 4.0, which Harbor's shape predates
      ...(v4 ? { score_v4: v4.baseScore, vector_v4: v4.vector } : {}),
    },
    cwe_ids: [] as string[],
    vendor_attributes: {},
    // Berth's additions
    kev: f.kev,
    ...(f.epss ? { epss: f.epss } : {}),
    aliases: f.aliases,
    purl: f.purl,
    layer_digest: f.layerDigest,
    path: f.path,
    source: f.source,
  };
}

/** Harbor's additions/vulnerabilities answer: the report keyed by its mime type. */
export function vulnerabilityReportJson(r: {
  repository: string;
  digest: string;
  mediaType: string;
  scan?: ScanRecord;
  findings: readonly Finding[];
  mimeTypes: readonly string[];
}): Record<string, unknown> {
  if (!r.scan?.summary) return {};
  const report = {
    report_id: r.scan.reportId,
    generated_at: iso(r.scan.endedAt ?? r.scan.updatedAt),
    artifact: { repository: r.repository, digest: r.digest, mime_type: r.mediaType },
    scanner: scannerJson(r.scan.scanner),
    severity: r.scan.summary.highest,
    vulnerabilities: r.findings.map((f) => vulnerabilityJson(f, r.digest)),
  };
  return Object.fromEntries(r.mimeTypes.map((m) => [m, report]));
}

