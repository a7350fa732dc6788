import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The registry-wide finding index behind the security hub (GET /api/v2.0/security/summary and
 * /security/vul): one row per finding of an image's stored scan. Rows go with their manifest
 * (cascade); the repository and project ids are copied in so that a search filters by project
 * without touching the manifests table. An index's aggregated report has no rows: its children
 * have them, and the hub counts each image once.
 *
 * Existing reports are indexed here from artifact_scans.findings. The copy of the mapping below
 * is this migration's own on purpose: a migration keeps doing what it did when it first ran.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  const real = dialect === 'postgres' ? 'double precision' : 'real';
  await db.schema
    .createTable('artifact_findings')
    .addColumn('manifest_id', big, (c) => c.notNull().references('manifests.id').onDelete('cascade'))
    .addColumn('repository_id', big, (c) => c.notNull())
    .addColumn('project_id', big, (c) => c.notNull())
    // the advisory's own id, and the CVE it names (the id itself, else its first CVE alias)
    .addColumn('vuln_id', 'text', (c) => c.notNull())
    .addColumn('cve_id', 'text', (c) => c.notNull())
    .addColumn('package', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('fixed_version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('severity', 'integer', (c) => c.notNull())
    .addColumn('cvss_score', real)
    .addColumn('cvss_version', 'text')
    // what the hub shows of the advisory: its one-line summary and first link
    .addColumn('summary', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('link', 'text')
    .execute();
  await db.schema.createIndex('artifact_findings_manifest').on('artifact_findings').column('manifest_id').execute();
  await db.schema.createIndex('artifact_findings_cve').on('artifact_findings').columns(['cve_id', 'manifest_id']).execute();
  await db.schema.createIndex('artifact_findings_vuln').on('artifact_findings').columns(['vuln_id', 'manifest_id']).execute();
  await db.schema.createIndex('artifact_findings_package').on('artifact_findings').columns(['package', 'manifest_id']).execute();
  await db.schema.createIndex('artifact_findings_severity').on('artifact_findings').columns(['severity', 'cvss_score']).execute();

  interface Stored {
    id: string;
    aliases?: string[];
    package: string;
    version: string;
    fixVersions?: string[];
    severity: string;
    cvss?: { version: string; baseScore: number };
    summary?: string;
    description?: string;
    links?: string[];
  }
  const RANK = ['None', 'Unknown', 'Low', 'Medium', 'High', 'Critical'];
  const CVE = /^CVE-\d{4}-\d+$/;
  const INDEXES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];
  let after = 0;
  for (;;) {
    const page = await sql<{ manifest_id: number; findings: string; repository_id: number; project_id: number; media_type: string }>`
      select s.manifest_id, s.findings, m.repository_id, r.project_id, m.media_type
      from artifact_scans s join manifests m on m.id = s.manifest_id join repositories r on r.id = m.repository_id
      where s.manifest_id > ${after} and s.findings is not null
      order by s.manifest_id limit 100`.execute(db);
    if (page.rows.length === 0) break;
    after = Number(page.rows[page.rows.length - 1]!.manifest_id);
    for (const row of page.rows) {
      if (INDEXES.includes(row.media_type)) continue;
      const rows = (JSON.parse(row.findings) as Stored[]).map((f) => ({
        manifest_id: Number(row.manifest_id),
        repository_id: Number(row.repository_id),
        project_id: Number(row.project_id),
        vuln_id: f.id,
        cve_id: [f.id, ...(f.aliases ?? [])].find((a) => CVE.test(a)) ?? f.id,
        package: f.package,
        version: f.version,
        fixed_version: f.fixVersions?.[0] ?? '',
        severity: Math.max(0, RANK.indexOf(f.severity)),
        cvss_score: f.cvss?.baseScore ?? null,
        cvss_version: f.cvss?.version ?? null,
        summary: (f.summary || f.description || '').slice(0, 500),
        link: f.links?.[0] ?? null,
      }));
      for (let i = 0; i < rows.length; i += 200) {
        await (db as Kysely<Record<string, Record<string, unknown>>>).insertInto('artifact_findings').values(rows.slice(i, i + 200)).execute();
      }
    }
  }
}
