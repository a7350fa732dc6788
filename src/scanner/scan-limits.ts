/**
 * Bounds on the work and memory one layer may cost. Layers are attacker-controlled, so every
 * quantity an archive can inflate has a ceiling here; reaching one stops or skips with a warning.
 */
export interface ScanLimits {
  /** Decompressed bytes read from one layer before the scan stops. */
  maxLayerBytes: number;
  /** Decompressed / compressed ratio above which the layer is taken for a bomb. */
  maxCompressionRatio: number;
  /** The ratio is only judged past this much output (a first file of zeros is no bomb). */
  ratioGraceBytes: number;
  /** Tar entries read from one layer. */
  maxEntries: number;
  /** Largest file handed whole to an analyzer (package databases, manifests, lock files). */
  maxFileBytes: number;
  /** Largest archive (jar/war/ear) handed to the Java analyzer. */
  maxArchiveBytes: number;
  /** How deep jars inside jars are opened. */
  maxArchiveDepth: number;
  /** Bytes inflated out of one top-level archive, nested ones included. */
  maxArchiveInflatedBytes: number;
  /** Largest zstd window (the decoder allocates it up front); zstd's own default cap is 2^27. */
  maxZstdWindowBytes: number;
  /** Longest pax / GNU long-name header. */
  maxTarHeaderBytes: number;
  /** Packages recorded for one layer. */
  maxPackages: number;
  /** Owned-file paths recorded for one layer (dpkg `.list`, apk `R:`, rpm file lists). */
  maxOwnedPaths: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const DEFAULT_SCAN_LIMITS: Readonly<ScanLimits> = Object.freeze({
  maxLayerBytes: 8 * GiB,
  maxCompressionRatio: 100,
  ratioGraceBytes: 64 * MiB,
  maxEntries: 500_000,
  maxFileBytes: 64 * MiB,
  maxArchiveBytes: 256 * MiB,
  maxArchiveDepth: 3,
  maxArchiveInflatedBytes: 512 * MiB,
  maxZstdWindowBytes: 128 * MiB,
  maxTarHeaderBytes: 1 * MiB,
  maxPackages: 200_000,
  maxOwnedPaths: 2_000_000,
});

export function scanLimits(overrides: Partial<ScanLimits> = {}): ScanLimits {
  return { ...DEFAULT_SCAN_LIMITS, ...overrides };
}
