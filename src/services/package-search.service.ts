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
  constructor(private readonly deps: { metadata: Metadata; access: AccessService }) {}

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
    const rows = await metadata.packageIndex.candidates({
      type: purl.type,
      name: purl.name,
      ...(purl.namespace !== '' ? { namespace: purl.namespace } : {}),
      ...(visible.all ? {} : { visibleTo: { projectIds: visible.projectIds } }),
      ...(projectId !== undefined ? { projectId } : {}),
      limit: CANDIDATE_LIMIT + 1,
    });
    if (rows.length > CANDIDATE_LIMIT) {
      throw badRequest(`more than ${CANDIDATE_LIMIT} occurrences of ${q.purl.slice(0, 200)}: narrow the search with a namespace, a qualifier (?distro=) or project_name`);
    }

    // rows arrive grouped by artifact (project, repository, manifest id order)
    const qualifiersMatch = qualifierFilter(purl);
    const matched: { first: PackageCandidate; packages: PackageOccurrence[] }[] = [];
    let current: { first: PackageCandidate; packages: PackageOccurrence[] } | undefined;
    for (const r of rows) {
      if (!qualifiersMatch(r.purl)) continue;
      if (bounds.length && !satisfies(r.version, bounds, scheme)) continue;
      if (!current || current.first.manifestId !== r.manifestId) {
        current = { first: r, packages: [] };
        matched.push(current);
      }
      current.packages.push({ purl: r.purl, version: r.version, layerDigest: r.layerDigest, path: r.path });
    }

    const window = matched.slice(q.offset, q.offset + q.limit);
    const artifacts = await metadata.packageIndex.artifacts(window.map((m) => m.first.manifestId));
    const items: PackageHit[] = [];
    for (const m of window) {
      const a = artifacts.get(m.first.manifestId);
      // deleted between the two reads: its rows went with it
      if (!a) continue;
      items.push({
        projectId: m.first.projectId,
        projectName: m.first.projectName,
        repositoryId: m.first.repositoryId,
        repositoryName: m.first.repositoryName,
        digest: a.digest,
        mediaType: a.mediaType,
        artifactType: a.artifactType,
        tags: a.tags,
        pushedAt: a.pushedAt,
        packages: m.packages,
      });
    }
    return { total: matched.length, items };
  }
}

/** The query's qualifiers (`?distro=debian-12&arch=amd64`) must each appear in a row's purl. */
function qualifierFilter(query: ParsedPurl): (purl: string) => boolean {
  const wanted = Object.entries(query.qualifiers);
  if (wanted.length === 0) return () => true;
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
