import type { Finding } from '../domain/vulnerability.js';

/** Where an artifact's vulnerability scan stands, as the pull gate and the APIs need it. */
export interface ArtifactScanStatus {
  /** `none`: never scanned; `pending`/`running`: a job is queued or running; `error`: the last scan failed. */
  status: 'none' | 'pending' | 'running' | 'done' | 'error';
  /** With `done`: the findings of the last match (an index: its children's, merged). */
  findings?: Finding[];
  /** With `done`: the vulnerability-database generation the findings were matched against. */
  generation?: number;
  /** With `error`: why. */
  error?: string;
  /** ms since epoch of the last completed scan or match. */
  completedAt?: number;
}

/** Implemented by the scan service; used by the pull gate (project `prevent_vul`). */
export interface ScanStatusSource {
  statusOf(repositoryId: number, digest: string): Promise<ArtifactScanStatus>;
  /**
   * Scans now (or joins the scan already running) and resolves when it has completed or failed.
   * The gate calls this for an unscanned artifact before it answers a pull.
   */
  scanNow(repositoryName: string, digest: string, signal?: AbortSignal): Promise<ArtifactScanStatus>;
}
