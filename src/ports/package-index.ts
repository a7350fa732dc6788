import type { ExtractedPackage } from '../domain/sbom.js';

/**
 * The registry-wide package index behind inventory search (`GET /api/v2.0/packages`): which
 * artifacts contain which package versions. The scan service replaces an artifact's rows each
 * time it stores that artifact's inventory, in the same transaction.
 */
export interface PackageIndexWriter {
  replace(manifestId: number, packages: readonly ExtractedPackage[]): Promise<void>;
}

/** One indexed occurrence of the package asked for (from the index alone). */
export interface PackageCandidate {
  manifestId: number;
  repositoryId: number;
  projectId: number;
  /** the version in the ecosystem's own syntax (rpm: `epoch:version-release`) */
  version: string;
  /** only when the query asked for it (`withPurl`): it costs a table read per row */
  purl?: string;
}

export interface PackageOccurrenceRow {
  manifestId: number;
  version: string;
  purl: string;
  layerDigest: string;
  path: string;
}

export interface CandidateQuery {
  type: string;
  name: string;
  /** undefined: any namespace */
  namespace?: string;
  /** undefined: every project; otherwise public projects and these */
  visibleTo?: { projectIds: readonly number[] };
  projectId?: number;
  /** whether each row's purl is wanted (to match qualifiers) */
  withPurl?: boolean;
  /** at most this many rows (the caller asks for one more to tell that there are more) */
  limit: number;
}

export interface IndexedArtifact {
  manifestId: number;
  repositoryName: string;
  projectName: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  pushedAt: number;
  tags: string[];
}

export interface PackageIndexReader {
  /** the distinct versions of the package among the rows the query may see (at most `limit`) */
  versions(q: CandidateQuery): Promise<string[]>;
  /**
   * The artifacts holding the package in one of `versions` (all versions when undefined), newest
   * first (highest manifest id), one page of them, with their count.
   */
  artifactPage(
    q: Omit<CandidateQuery, 'limit' | 'withPurl'> & { versions?: readonly string[] },
    page: { offset: number; limit: number },
  ): Promise<{ total: number; items: { manifestId: number; repositoryId: number; projectId: number }[] }>;
  /** rows of the package, newest artifact (highest manifest id) first, an artifact's rows together */
  candidates(q: CandidateQuery): Promise<PackageCandidate[]>;
  /** the full rows of the package in these artifacts (for the page shown) */
  occurrences(q: Pick<CandidateQuery, 'type' | 'name' | 'namespace'>, manifestIds: readonly number[]): Promise<PackageOccurrenceRow[]>;
  /** the artifacts of these manifest ids, with their repository, project and tags (byte order) */
  artifacts(manifestIds: readonly number[]): Promise<Map<number, IndexedArtifact>>;
  /** rows of one artifact (the SBOM and tests read them back) */
  packagesOf(manifestId: number): Promise<{ type: string; namespace: string; name: string; version: string; purl: string }[]>;
}

export interface PackageIndexRepo extends PackageIndexWriter, PackageIndexReader {}
