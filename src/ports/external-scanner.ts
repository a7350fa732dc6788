import type { Finding } from '../domain/vulnerability.js';

/** What an external scanner adapter (Harbor pluggable scanner API v1.1/1.2) is asked to scan. */
export interface ExternalScanRequest {
  projectId: number;
  repository: string;
  digest: string;
  mediaType: string;
  /** Tag the caller knows the artifact by, when there is one. */
  tag?: string;
}

export type ScannerChoice =
  | { kind: 'builtin' }
  | {
      kind: 'adapter';
      registrationId: number;
      name: string;
      /** Drives the adapter (POST /api/v1/scan, report polling with Retry-After) to a result. */
      scan(request: ExternalScanRequest, signal?: AbortSignal): Promise<Finding[]>;
    };

/** Which scanner a project uses: its own choice, else the system default, else the built-in one. */
export interface ScannerSelector {
  scannerFor(projectId: number): Promise<ScannerChoice>;
}
