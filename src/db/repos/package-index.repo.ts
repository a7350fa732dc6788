import { type Kysely, type SqlBool, sql } from 'kysely';
import { indexedVersion, parsePurl } from '../../domain/package-query.js';
import type { ExtractedPackage } from '../../domain/sbom.js';
import type { CandidateQuery, IndexedArtifact, PackageCandidate, PackageIndexRepo, PackageOccurrenceRow } from '../../ports/package-index.js';
import type { ArtifactPackagesTable, DB } from '../schema.js';
import { replaceArtifactRows, tagNamesOf } from './manifest-rows.js';

/** Rows per INSERT: 9 values each stays far below SQLite's and PostgreSQL's parameter limits. */
const INSERT_BATCH = 500;
/** Manifest ids per `in (...)` list when reading artifacts back. */
const ID_BATCH = 1000;

type Row = Omit<ArtifactPackagesTable, 'manifest_id' | 'repository_id' | 'project_id'>;

/** The index key of a package: its purl's own (decoded, normalised) components. */
function rowOf(p: ExtractedPackage): Row {
  let type: string = p.type;
  let namespace = p.namespace ?? '';
  let name = p.name;
  try {
    const parsed = parsePurl(p.purl);
    type = parsed.type;
    namespace = parsed.namespace;
    name = parsed.name;
  } catch {
    // an analyzer's purl is well formed; if one is not, the package's own fields still index it
  }
  return { type, namespace, name, version: indexedVersion(p), purl: p.purl, layer_digest: p.layerDigest, path: p.path };
}

export class KyselyPackageIndexRepo implements PackageIndexRepo {
  constructor(private readonly db: Kysely<DB>) {}

  /** Replaces the artifact's rows (replaceArtifactRows). */
  async replace(manifestId: number, packages: readonly ExtractedPackage[]): Promise<void> {
    await replaceArtifactRows(this.db, 'artifact_packages', manifestId, INSERT_BATCH, (owner) => {
      const seen = new Set<string>();
      const rows: ArtifactPackagesTable[] = [];
      for (const p of packages) {
        const r = rowOf(p);
        const key = `${r.purl}\0${r.layer_digest}\0${r.path}`;
        if (seen.has(key)) continue;
        seen.add(key);
        rows.push({ manifest_id: manifestId, repository_id: owner.repository_id, project_id: owner.project_id, ...r });
      }
      return rows;
    });
  }

  /** The shared WHERE of a search: the package key, the project, what the caller may see. */
  private searchRows(q: Omit<CandidateQuery, 'limit' | 'withPurl'> & { versions?: readonly string[] }) {
    let query = this.db.selectFrom('artifact_packages as ap').where('ap.type', '=', q.type).where('ap.name', '=', q.name);
    if (q.namespace !== undefined) query = query.where('ap.namespace', '=', q.namespace);
    if (q.projectId !== undefined) query = query.where('ap.project_id', '=', q.projectId);
    if (q.versions !== undefined) query = q.versions.length ? query.where('ap.version', 'in', [...q.versions]) : query.where(sql<SqlBool>`1 = 0`);
    const visible = q.visibleTo;
    if (visible) {
      query = query.where((eb) => {
        const pub = eb('ap.project_id', 'in', eb.selectFrom('projects').select('id').where('public', '=', 1));
        return visible.projectIds.length ? eb.or([pub, eb('ap.project_id', 'in', [...visible.projectIds])]) : pub;
      });
    }
    return query;
  }

  async versions(q: CandidateQuery): Promise<string[]> {
    const rows = await this.searchRows(q).select('ap.version').distinct().limit(q.limit).execute();
    return rows.map((r) => r.version);
  }

  async artifactPage(
    q: Omit<CandidateQuery, 'limit' | 'withPurl'> & { versions?: readonly string[] },
    page: { offset: number; limit: number },
  ): Promise<{ total: number; items: { manifestId: number; repositoryId: number; projectId: number }[] }> {
    const [count, rows] = await Promise.all([
      this.searchRows(q).select((eb) => eb.fn.count<number>('ap.manifest_id').distinct().as('n')).executeTakeFirst(),
      this.searchRows(q)
        .select(['ap.manifest_id', 'ap.repository_id', 'ap.project_id'])
        .distinct()
        .orderBy('ap.manifest_id', 'desc')
        .limit(page.limit)
        .offset(page.offset)
        .execute(),
    ]);
    return {
      total: Number(count?.n ?? 0),
      items: rows.map((r) => ({ manifestId: r.manifest_id, repositoryId: r.repository_id, projectId: r.project_id })),
    };
  }

  async candidates(q: CandidateQuery): Promise<PackageCandidate[]> {
    // no join and (without withPurl) no table read: the covering index gives the rows of
    // (type, name[, namespace]) in manifest order; visibility is a set test on the project id
    let query = this.db
      .selectFrom('artifact_packages as ap')
      .select(['ap.manifest_id', 'ap.repository_id', 'ap.project_id', 'ap.version'])
      .$if(q.withPurl === true, (qb) => qb.select('ap.purl'))
      .where('ap.type', '=', q.type)
      .where('ap.name', '=', q.name);
    if (q.namespace !== undefined) query = query.where('ap.namespace', '=', q.namespace);
    if (q.projectId !== undefined) query = query.where('ap.project_id', '=', q.projectId);
    const visible = q.visibleTo;
    if (visible) {
      query = query.where((eb) => {
        const pub = eb('ap.project_id', 'in', eb.selectFrom('projects').select('id').where('public', '=', 1));
        return visible.projectIds.length ? eb.or([pub, eb('ap.project_id', 'in', [...visible.projectIds])]) : pub;
      });
    }
    const rows = await query.orderBy('ap.manifest_id', 'desc').limit(q.limit).execute();
    return rows.map((r) => ({
      manifestId: r.manifest_id,
      repositoryId: r.repository_id,
      projectId: r.project_id,
      version: r.version,
      ...('purl' in r && typeof r.purl === 'string' ? { purl: r.purl } : {}),
    }));
  }

  async occurrences(q: Pick<CandidateQuery, 'type' | 'name' | 'namespace'>, manifestIds: readonly number[]): Promise<PackageOccurrenceRow[]> {
    const out: PackageOccurrenceRow[] = [];
    for (let i = 0; i < manifestIds.length; i += ID_BATCH) {
      let query = this.db
        .selectFrom('artifact_packages')
        .select(['manifest_id', 'version', 'purl', 'layer_digest', 'path'])
        .where('type', '=', q.type)
        .where('name', '=', q.name)
        .where('manifest_id', 'in', manifestIds.slice(i, i + ID_BATCH));
      if (q.namespace !== undefined) query = query.where('namespace', '=', q.namespace);
      for (const r of await query.orderBy('manifest_id').orderBy('purl').orderBy('path').execute()) {
        out.push({ manifestId: r.manifest_id, version: r.version, purl: r.purl, layerDigest: r.layer_digest, path: r.path });
      }
    }
    return out;
  }

  async artifacts(manifestIds: readonly number[]): Promise<Map<number, IndexedArtifact>> {
    const out = new Map<number, IndexedArtifact>();
    for (let i = 0; i < manifestIds.length; i += ID_BATCH) {
      const ids = manifestIds.slice(i, i + ID_BATCH);
      const [manifests, tags] = await Promise.all([
        this.db
          .selectFrom('manifests as m')
          .innerJoin('repositories as r', 'r.id', 'm.repository_id')
          .innerJoin('projects as p', 'p.id', 'r.project_id')
          .select(['m.id', 'm.digest', 'm.media_type', 'm.artifact_type', 'm.created_at', 'r.name as repository_name', 'p.name as project_name'])
          .where('m.id', 'in', ids)
          .execute(),
        tagNamesOf(this.db, ids),
      ]);
      for (const m of manifests) {
        out.set(m.id, { manifestId: m.id, repositoryName: m.repository_name, projectName: m.project_name, digest: m.digest, mediaType: m.media_type, artifactType: m.artifact_type, pushedAt: m.created_at, tags: tags.get(m.id) ?? [] });
      }
    }
    return out;
  }

  async packagesOf(manifestId: number): Promise<{ type: string; namespace: string; name: string; version: string; purl: string }[]> {
    return this.db
      .selectFrom('artifact_packages')
      .select(['type', 'namespace', 'name', 'version', 'purl'])
      .where('manifest_id', '=', manifestId)
      .orderBy('purl')
      .execute();
  }
}
