import type { Severity } from '../domain/severity.js';
import type { Finding } from '../domain/vulnerability.js';
import type { NameMatch } from './catalog-repos.js';

/**
 * The registry-wide finding index behind the security hub (`/api/v2.0/security/*`): which images
 * have which findings. The scan service replaces an artifact's rows each time it stores that
 * artifact's report, in the same transaction; an index's aggregated report is not indexed (its
 * children are).
 */
export interface FindingFilter {
  /** exact: the advisory id or the CVE it names; fuzzy: a substring of the CVE id */
  cveId?: NameMatch;
  package?: NameMatch;
  severities?: readonly Severity[];
  /** CVSS base score bounds, inclusive */
  cvss?: { min?: number; max?: number };
  projectIds?: readonly number[];
  repositoryName?: NameMatch;
  digest?: string;
  tag?: string;
}

export interface FindingHit {
  projectId: number;
  repositoryName: string;
  digest: string;
  /** only when asked for */
  tags?: string[];
  vulnId: string;
  cveId: string;
  package: string;
  version: string;
  fixedVersion: string;
  severity: Severity;
  cvssScore: number | null;
  cvssVersion: string | null;
  summary: string;
  link: string | null;
}

export interface SecurityTotals {
  /** findings per severity, over every scanned image */
  bySeverity: Record<Severity, number>;
  total: number;
  fixable: number;
  /** images with a completed scan */
  scanned: number;
  /** images (not indexes) in the registry */
  artifacts: number;
}

export interface DangerousCve {
  cveId: string;
  severity: Severity;
  cvssScore: number | null;
  package: string;
  version: string;
  summary: string;
}

export interface DangerousArtifact {
  projectId: number;
  repositoryName: string;
  digest: string;
  critical: number;
  high: number;
  medium: number;
}

export interface FindingIndexWriter {
  replace(manifestId: number, findings: readonly Finding[]): Promise<void>;
}

export interface FindingIndexRepo extends FindingIndexWriter {
  totals(): Promise<SecurityTotals>;
  /** the `limit` findings with the highest severity and CVSS score, one per CVE */
  dangerousCves(limit: number): Promise<DangerousCve[]>;
  /** the `limit` images with the most critical, then high, then medium findings */
  dangerousArtifacts(limit: number): Promise<DangerousArtifact[]>;
  /** findings matching `f`, highest severity and score first; `total` counts up to `countUpTo` */
  /** the images of the projects that have findings, in manifest id order after `afterManifestId`, with their tags */
  artifactsWithFindings(projectIds: readonly number[], afterManifestId: number, limit: number): Promise<{ manifestId: number; repositoryName: string; digest: string; tags: string[] }[]>;
  search(f: FindingFilter, page: { offset: number; limit: number; withTags: boolean; countUpTo: number }): Promise<{ items: FindingHit[]; total: number }>;
}
