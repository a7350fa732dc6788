import type { ExtractedPackage } from '../domain/sbom.js';

/**
 * The registry-wide package index behind inventory search (`GET /api/v2.0/packages`): which
 * artifacts contain which package versions. The scan service replaces an artifact's rows each
 * time it stores that artifact's inventory, in the same transaction.
 */
export interface PackageIndexWriter {
  replace(manifestId: number, packages: readonly ExtractedPackage[]): Promise<void>;
}

/** One indexed occurrence of the package asked for, with where its artifact lives. */
export interface PackageCandidate {
  manifestId: number;
  repositoryId: number;
  repositoryName: string;
  projectId: number;
  projectName: string;
  /** the version in the ecosystem's own syntax (rpm: `epoch:version-release`) */
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
  /** at most this many rows (the caller asks for one more to tell that there are more) */
  limit: number;
}

export interface IndexedArtifact {
  manifestId: number;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  pushedAt: number;
  tags: string[];
}

export interface PackageIndexReader {
  /** rows of the package, in (project name, repository name, manifest id) order */
  candidates(q: CandidateQuery): Promise<PackageCandidate[]>;
  /** the artifacts of these manifest ids, with their tags in byte order */
  artifacts(manifestIds: readonly number[]): Promise<Map<number, IndexedArtifact>>;
  /** rows of one artifact (the SBOM and tests read them back) */
  packagesOf(manifestId: number): Promise<{ type: string; namespace: string; name: string; version: string; purl: string }[]>;
}

export interface PackageIndexRepo extends PackageIndexWriter, PackageIndexReader {}
