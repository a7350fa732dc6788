import type { ExtractedPackage } from '../domain/sbom.js';

/**
 * The registry-wide package index behind inventory search (`GET /api/v2.0/packages`): which
 * artifacts contain which package versions. The scan service replaces an artifact's rows each
 * time it stores that artifact's inventory, in the same transaction.
 */
export interface PackageIndexWriter {
  replace(manifestId: number, packages: readonly ExtractedPackage[]): Promise<void>;
}
