import { badRequest } from '../domain/errors.js';
import { parseConstraint, parsePurl, satisfies, schemeForPurlType, type ParsedPurl, type VersionBound } from '../domain/package-query.js';
import type { Principal } from '../domain/permission.js';
import type { Metadata } from '../ports/metadata.js';
import type { PackageCandidate } from '../ports/package-index.js';
import type { AccessService } from './access.service.js';
import { visibleProjects } from './project-visibility.js';

/**
 * Index rows one search may read. Rows are selected by (type, name[, namespace]) through the
 * index and their versions compared in code; past this many rows a search is refused with a
 * request to narrow it (a namespace, a project, a qualifier) rather than held in memory.
 */
export const CANDIDATE_LIMIT = 250_000;
/**
 * Distinct versions of one package compared in code, after which those in range are handed
 * back to the database as a list; past this many the rows are tested one by one instead.
 */
export const VERSION_LIST_MAX = 2000;

export interface PackageSearchQuery {
  purl: string;
  /** `<X`, `<=X`, `>X`, `>=X`, `=X`, `!=X`, or bounds joined by `,` (`>=1.0,<2.0`) */
  version?: string;
  projectName?: string;
  offset: number;
  limit: number;
}

export interface PackageOccurrence {
  purl: string;
  version: string;
  layerDigest: string;
  path: string;
}

export interface PackageHit {
  projectId: number;
  projectName: string;
  repositoryId: number;
  repositoryName: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  tags: string[];
  pushedAt: number;
  packages: PackageOccurrence[];
}

/** Inventory search: which artifacts, among those the caller may read, hold a package in a version range. */
export class PackageSearchService {
  constructor(
    private readonly deps: {
      metadata: Metadata;
      access: AccessService;
      /** overrides of the limits above (tests take the row-by-row way with a small versionListMax) */
      limits?: { versionListMax?: number; candidateLimit?: number };
    },
  ) {}

  async search(viewer: Principal, q: PackageSearchQuery): Promise<{ total: number; items: PackageHit[] }> {
    const purl = parsePurl(q.purl);
    const scheme = schemeForPurlType(purl.type);
    const bounds: VersionBound[] = [];
    if (purl.version !== undefined) bounds.push({ op: '=', version: purl.version });
    if (q.version !== undefined && q.version.trim() !== '') bounds.push(...parseConstraint(q.version, scheme));

    const { metadata } = this.deps;
    let projectId: number | undefined;
    if (q.projectName !== undefined) {
      const project = await metadata.projects.getByName(q.projectName);
      if (!project) return { total: 0, items: [] };
      projectId = project.id;
    }
    const visible = await visibleProjects(viewer, { metadata, access: this.deps.access });
    const key = { type: purl.type, name: purl.name, ...(purl.namespace !== '' ? { namespace: purl.namespace } : {}) };
    const scope = {
      ...key,
      ...(visible.all ? {} : { visibleTo: { projectIds: visible.projectIds } }),
      ...(projectId !== undefined ? { projectId } : {}),
    };
    const qualifiersMatch = qualifierFilter(purl);
    // many rows share a version: each distinct one is compared once
    const verdicts = new Map<string, boolean>();
    const inRange = (v: string) => {
      if (bounds.length === 0) return true;
      let ok = verdicts.get(v);
      if (ok === undefined) verdicts.set(v, (ok = satisfies(v, bounds, scheme)));
      return ok;
    };
    const keep = (r: { version: string; purl?: string }) => inRange(r.version) && (!qualifiersMatch || (r.purl !== undefined && qualifiersMatch(r.purl)));

    let total: number;
    let window: { manifestId: number; repositoryId: number; projectId: number }[];
    const versionListMax = this.deps.limits?.versionListMax ?? VERSION_LIST_MAX;
    const candidateLimit = this.deps.limits?.candidateLimit ?? CANDIDATE_LIMIT;
    const versions = qualifiersMatch || bounds.length === 0 ? undefined : await metadata.packageIndex.versions({ ...scope, limit: versionListMax + 1 });
    if (!qualifiersMatch && (versions === undefined || versions.length <= versionListMax)) {
      // the usual way: the distinct versions are few; those in range go back to the database,
      // which counts and pages the artifacts on the index
      const wanted = versions?.filter(inRange);
      if (wanted && wanted.length === 0) return { total: 0, items: [] };
      const page = await metadata.packageIndex.artifactPage({ ...scope, ...(wanted ? { versions: wanted } : {}) }, { offset: q.offset, limit: q.limit });
      total = page.total;
      window = page.items;
    } else {
      // qualifiers (in the purl only) or very many versions: every row is read and tested here
      const rows = await metadata.packageIndex.candidates({ ...scope, ...(qualifiersMatch ? { withPurl: true } : {}), limit: candidateLimit + 1 });
      if (rows.length > candidateLimit) {
        throw badRequest(`more than ${candidateLimit} occurrences of ${q.purl.slice(0, 200)}: narrow the search with a namespace, a version range or project_name`);
      }
      // rows arrive grouped by artifact, newest first
      const matched: PackageCandidate[] = [];
      for (const r of rows) {
        if (!keep(r)) continue;
        if (matched[matched.length - 1]?.manifestId !== r.manifestId) matched.push(r);
      }
      total = matched.length;
      window = matched.slice(q.offset, q.offset + q.limit);
    }

    const ids = window.map((m) => m.manifestId);
    const [artifacts, occurrences] = await Promise.all([metadata.packageIndex.artifacts(ids), metadata.packageIndex.occurrences(key, ids)]);
    const byManifest = new Map<number, PackageOccurrence[]>();
    for (const o of occurrences) {
      if (!keep(o)) continue;
      const list = byManifest.get(o.manifestId) ?? [];
      list.push({ purl: o.purl, version: o.version, layerDigest: o.layerDigest, path: o.path });
      byManifest.set(o.manifestId, list);
    }
    const items: PackageHit[] = [];
    for (const m of window) {
      const a = artifacts.get(m.manifestId);
      // deleted between the reads: its rows went with it
      if (!a) continue;
      items.push({
        projectId: m.projectId,
        projectName: a.projectName,
        repositoryId: m.repositoryId,
        repositoryName: a.repositoryName,
        digest: a.digest,
        mediaType: a.mediaType,
        artifactType: a.artifactType,
        tags: a.tags,
        pushedAt: a.pushedAt,
        packages: byManifest.get(m.manifestId) ?? [],
      });
    }
    return { total, items };
  }
}

/** The query's qualifiers (`?distro=debian-12&arch=amd64`) must each appear in a row's purl. */
function qualifierFilter(query: ParsedPurl): ((purl: string) => boolean) | undefined {
  const wanted = Object.entries(query.qualifiers);
  if (wanted.length === 0) return undefined;
  const seen = new Map<string, boolean>();
  return (purl) => {
    let ok = seen.get(purl);
    if (ok === undefined) {
      let q: Record<string, string> = {};
      try {
        q = parsePurl(purl).qualifiers;
      } catch {
        // an unreadable stored purl has no qualifiers to match
      }
      ok = wanted.every(([k, v]) => q[k] === v);
      seen.set(purl, ok);
    }
    return ok;
  };
}
