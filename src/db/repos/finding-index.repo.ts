import { type Kysely, sql } from 'kysely';
import { CONFIG_TYPES } from '../../domain/artifact.js';
import { isIndexMediaType } from '../../domain/media-types.js';
import { SEVERITIES, type Severity, severityRank } from '../../domain/severity.js';
import { cveIdOf, type Finding } from '../../domain/vulnerability.js';
import type {
  DangerousArtifact,
  DangerousCve,
  FindingFilter,
  FindingHit,
  FindingIndexRepo,
  SecurityTotals,
} from '../../ports/finding-index.js';
import type { DB } from '../schema.js';
import { nameMatches } from '../name-match.js';
import { replaceArtifactRows, tagNamesOf } from './manifest-rows.js';

/** Rows per INSERT: 13 values each stays far below SQLite's and PostgreSQL's parameter limits. */
const INSERT_BATCH = 200;
const IMAGE_CONFIGS: string[] = [...CONFIG_TYPES.IMAGE];

const severityOf = (rank: number): Severity => SEVERITIES[rank] ?? 'Unknown';

/** the index rows with their manifest and repository */
const joined = (db: Kysely<DB>) =>
  db.selectFrom('artifact_findings as af').innerJoin('manifests as m', 'm.id', 'af.manifest_id').innerJoin('repositories as r', 'r.id', 'af.repository_id');
type Query = ReturnType<typeof joined>;

export class KyselyFindingIndexRepo implements FindingIndexRepo {
  constructor(private readonly db: Kysely<DB>) {}

  /** Replaces the artifact's rows (replaceArtifactRows); an index's report is its children's: no rows. */
  async replace(manifestId: number, findings: readonly Finding[]): Promise<void> {
    await replaceArtifactRows(this.db, 'artifact_findings', manifestId, INSERT_BATCH, (owner) =>
      isIndexMediaType(owner.media_type)
        ? []
        : findings.map((f) => ({
            manifest_id: manifestId,
            repository_id: owner.repository_id,
            project_id: owner.project_id,
            vuln_id: f.id,
            cve_id: cveIdOf(f),
            package: f.package,
            version: f.version,
            fixed_version: f.fixVersions[0] ?? '',
            severity: severityRank(f.severity),
            cvss_score: f.cvss?.baseScore ?? null,
            cvss_version: f.cvss?.version ?? null,
            summary: (f.summary || f.description).slice(0, 500),
            link: f.links[0] ?? null,
          })),
    );
  }

  async totals(): Promise<SecurityTotals> {
    const [bySev, scanned, artifacts] = await Promise.all([
      this.db
        .selectFrom('artifact_findings')
        .select((eb) => ['severity', eb.fn.countAll<number>().as('n'), eb.fn.sum<number>(sql`case when fixed_version <> '' then 1 else 0 end`).as('fixable')])
        .groupBy('severity')
        .execute(),
      this.db
        .selectFrom('artifact_scans as s')
        .innerJoin('manifests as m', 'm.id', 's.manifest_id')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('s.summary', 'is not', null)
        .where('m.artifact_type', 'in', IMAGE_CONFIGS)
        .executeTakeFirstOrThrow(),
      this.db
        .selectFrom('manifests as m')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('m.artifact_type', 'in', IMAGE_CONFIGS)
        .executeTakeFirstOrThrow(),
    ]);
    const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    let total = 0;
    let fixable = 0;
    for (const r of bySev) {
      const n = Number(r.n);
      bySeverity[severityOf(Number(r.severity))] += n;
      total += n;
      fixable += Number(r.fixable ?? 0);
    }
    return { bySeverity, total, fixable, scanned: Number(scanned.n), artifacts: Number(artifacts.n) };
  }

  async dangerousCves(limit: number): Promise<DangerousCve[]> {
    // the worst rows first; a CVE found in many images is listed once
    const rows = await this.db
      .selectFrom('artifact_findings')
      .select(['cve_id', 'severity', 'cvss_score', 'package', 'version', 'summary'])
      .orderBy('severity', 'desc')
      .orderBy(sql`coalesce(cvss_score, -1)`, 'desc')
      .orderBy('cve_id')
      .orderBy('package')
      .limit(Math.max(limit * 50, 500))
      .execute();
    const out: DangerousCve[] = [];
    const seen = new Set<string>();
    for (const r of rows) {
      if (seen.has(r.cve_id)) continue;
      seen.add(r.cve_id);
      out.push({ cveId: r.cve_id, severity: severityOf(Number(r.severity)), cvssScore: r.cvss_score === null ? null : Number(r.cvss_score), package: r.package, version: r.version, summary: r.summary });
      if (out.length === limit) break;
    }
    return out;
  }

  async dangerousArtifacts(limit: number): Promise<DangerousArtifact[]> {
    const count = (rank: number) => sql<number>`sum(case when af.severity = ${rank} then 1 else 0 end)`;
    const rows = await this.db
      .selectFrom('artifact_findings as af')
      .innerJoin('manifests as m', 'm.id', 'af.manifest_id')
      .innerJoin('repositories as r', 'r.id', 'af.repository_id')
      .select([
        'af.manifest_id',
        'af.project_id',
        'r.name',
        'm.digest',
        count(severityRank('Critical')).as('critical'),
        count(severityRank('High')).as('high'),
        count(severityRank('Medium')).as('medium'),
      ])
      .where('af.severity', '>=', severityRank('Medium'))
      .groupBy(['af.manifest_id', 'af.project_id', 'r.name', 'm.digest'])
      .orderBy('critical', 'desc')
      .orderBy('high', 'desc')
      .orderBy('medium', 'desc')
      .orderBy('af.manifest_id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ projectId: Number(r.project_id), repositoryName: r.name, digest: r.digest, critical: Number(r.critical), high: Number(r.high), medium: Number(r.medium) }));
  }

  async artifactsWithFindings(projectIds: readonly number[], afterManifestId: number, limit: number): Promise<{ manifestId: number; repositoryName: string; digest: string; tags: string[] }[]> {
    if (projectIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('manifests as m')
      .innerJoin('repositories as r', 'r.id', 'm.repository_id')
      .select(['m.id', 'r.name', 'm.digest'])
      .where('r.project_id', 'in', [...projectIds])
      .where('m.id', '>', afterManifestId)
      .where((eb) => eb.exists(eb.selectFrom('artifact_findings as af').select('af.manifest_id').whereRef('af.manifest_id', '=', 'm.id')))
      .orderBy('m.id')
      .limit(limit)
      .execute();
    const tags = await tagNamesOf(this.db, rows.map((r) => Number(r.id)));
    return rows.map((r) => ({ manifestId: Number(r.id), repositoryName: r.name, digest: r.digest, tags: tags.get(Number(r.id)) ?? [] }));
  }

  async search(f: FindingFilter, page: { offset: number; limit: number; withTags: boolean; countUpTo: number }): Promise<{ items: FindingHit[]; total: number }> {
    const base = this.filtered(f);
    const [rows, counted] = await Promise.all([
      base
        .select(['af.manifest_id', 'af.project_id', 'r.name', 'm.digest', 'af.vuln_id', 'af.cve_id', 'af.package', 'af.version', 'af.fixed_version', 'af.severity', 'af.cvss_score', 'af.cvss_version', 'af.summary', 'af.link'])
        .orderBy('af.severity', 'desc')
        .orderBy(sql`coalesce(af.cvss_score, -1)`, 'desc')
        .orderBy('af.cve_id')
        .orderBy('af.manifest_id')
        .orderBy('af.package')
        .offset(page.offset)
        .limit(page.limit)
        .execute(),
      // counted up to a cap (Harbor's tune_count): a count over millions of rows is not free
      this.db
        .selectFrom(base.select('af.manifest_id').limit(page.countUpTo).as('c'))
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow(),
    ]);
    const tags = page.withTags ? await tagNamesOf(this.db, rows.map((r) => Number(r.manifest_id))) : new Map<number, string[]>();
    return {
      total: Number(counted.n),
      items: rows.map((r) => ({
        projectId: Number(r.project_id),
        repositoryName: r.name,
        digest: r.digest,
        ...(page.withTags ? { tags: tags.get(Number(r.manifest_id)) ?? [] } : {}),
        vulnId: r.vuln_id,
        cveId: r.cve_id,
        package: r.package,
        version: r.version,
        fixedVersion: r.fixed_version,
        severity: severityOf(Number(r.severity)),
        cvssScore: r.cvss_score === null ? null : Number(r.cvss_score),
        cvssVersion: r.cvss_version,
        summary: r.summary,
        link: r.link,
      })),
    };
  }

  private filtered(f: FindingFilter): Query {
    let q: Query = joined(this.db);
    // exact or fuzzy (the API's one `=~`: case-insensitive on both dialects, LIKE's wildcards literal)
    const cve = f.cveId;
    // an exact CVE id is the advisory's own id or the CVE it names
    if (cve) q = q.where((eb) => ('fuzzy' in cve ? nameMatches(eb, sql.ref<string>('af.cve_id'), cve) : eb.or([nameMatches(eb, sql.ref<string>('af.cve_id'), cve), nameMatches(eb, sql.ref<string>('af.vuln_id'), cve)])));
    const pkg = f.package;
    if (pkg) q = q.where((eb) => nameMatches(eb, sql.ref<string>('af.package'), pkg));
    if (f.severities !== undefined) q = q.where('af.severity', 'in', f.severities.length ? f.severities.map(severityRank) : [-1]);
    if (f.cvss?.min !== undefined) q = q.where('af.cvss_score', '>=', f.cvss.min);
    if (f.cvss?.max !== undefined) q = q.where('af.cvss_score', '<=', f.cvss.max);
    if (f.projectIds !== undefined) q = q.where('af.project_id', 'in', f.projectIds.length ? [...f.projectIds] : [-1]);
    const repo = f.repositoryName;
    if (repo) q = q.where((eb) => nameMatches(eb, sql.ref<string>('r.name'), repo));
    if (f.digest !== undefined) q = q.where('m.digest', '=', f.digest);
    if (f.tag !== undefined) {
      const tag = f.tag;
      q = q.where((eb) => eb.exists(eb.selectFrom('tags as t').select('t.manifest_id').whereRef('t.manifest_id', '=', 'af.manifest_id').where('t.name', '=', tag)));
    }
    return q;
  }
}
