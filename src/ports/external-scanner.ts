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

// ---- Harbor's pluggable scanner adapter API (spec v1.1/v1.2), as the services see it ----

/** Media types of the scanner adapter API (pluggable-scanner-spec, api/spec/scanner-adapter-openapi-v1.2.yaml). */
export const ADAPTER_MIME = {
  metadata: 'application/vnd.scanner.adapter.metadata+json; version=1.0',
  metadata11: 'application/vnd.scanner.adapter.metadata+json; version=1.1',
  scanRequest: 'application/vnd.scanner.adapter.scan.request+json; version=1.0',
  scanRequest11: 'application/vnd.scanner.adapter.scan.request+json; version=1.1',
  scanResponse: 'application/vnd.scanner.adapter.scan.response+json; version=1.0',
  error: 'application/vnd.scanner.adapter.error+json; version=1.0',
  /** the report Harbor 2.x asks for */
  vulnReport11: 'application/vnd.security.vulnerability.report; version=1.1',
  vulnReport10: 'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0',
} as const;

/** How to reach an adapter: a registration's URL and credentials (the credential in clear). */
export interface AdapterEndpoint {
  url: string;
  auth: '' | 'Basic' | 'Bearer' | 'X-ScannerAdapter-API-Key';
  credential: string;
  skipCertVerify: boolean;
}

export interface AdapterCapability {
  type?: string;
  consumes_mime_types: string[];
  produces_mime_types: string[];
  additional_attributes?: Record<string, unknown>;
}

/** The spec's ScannerAdapterMetadata. */
export interface AdapterMetadata {
  scanner: { name: string; vendor: string; version: string };
  capabilities: AdapterCapability[];
  properties?: Record<string, string>;
}

/** The spec's ScanRequest. `registry.authorization` is a credential: never log it. */
export interface AdapterScanRequest {
  registry: { url: string; authorization?: string };
  artifact: { repository: string; digest: string; tag?: string; mime_type: string };
}

/** Talks to a scanner adapter over HTTP (src/scanner/adapter). Errors are RegistryErrors. */
export interface ScannerAdapterClient {
  /** GET /api/v1/metadata, validated (a scanner, at least one capability) */
  metadata(endpoint: AdapterEndpoint, signal?: AbortSignal): Promise<AdapterMetadata>;
  /**
   * POST /api/v1/scan, then GET /api/v1/scan/{id}/report until it is ready (302 answers are
   * retried after their Refresh-After/Retry-After), within `maxWaitMs` in all.
   */
  scan(endpoint: AdapterEndpoint, request: AdapterScanRequest, opts: { reportMimeType: string; maxWaitMs: number; scannerName?: string; signal?: AbortSignal }): Promise<Finding[]>;
}

/** Reads a manifest and its blobs from any OCI registry (the built-in adapter's pull). */
export interface RegistryPuller {
  /**
   * Opens a session against `registryUrl`: `authorization` (Basic or Bearer) is sent as is, or
   * exchanged for a token on a Bearer challenge (Docker token flow), as clients do.
   */
  session(registryUrl: string, authorization: string | undefined, repository: string): RegistrySession;
}

export interface RegistrySession {
  /** the manifest's bytes and media type; the digest is verified */
  manifest(digest: string, accept: readonly string[], signal?: AbortSignal): Promise<{ mediaType: string; body: Uint8Array }>;
  /** the blob as a stream; the digest is verified as it is read (the last chunk throws on a mismatch) */
  blob(digest: string, signal?: AbortSignal): AsyncIterable<Uint8Array>;
}
