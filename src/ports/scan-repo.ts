import type { ImageInventory, LayerInventory } from '../domain/sbom.js';
import type { Severity } from '../domain/severity.js';
import type { Finding, SeveritySummary } from '../domain/vulnerability.js';

/** What an artifact's image config and manifest say about where it comes from. */
export interface ImageFacts {
  /** the layer digests, lowest first */
  layers: string[];
  configDigest?: string;
  os?: string;
  architecture?: string;
  variant?: string;
  /** config `created` */
  created?: string;
  /** config `history`, as the image spec spells its entries */
  history: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean; author?: string }[];
  /**
   * `org.opencontainers.image.*` annotations of the manifest, completed by the config's labels of
   * the same names (the manifest wins).
   */
  annotations: Record<string, string>;
}

export interface ArtifactInventoryRecord {
  manifestId: number;
  analyzerVersion: string;
  inventory: ImageInventory;
  image: ImageFacts;
  createdAt: number;
}

/** An artifact the scan pipeline works on: a manifest row with its repository and project. */
export interface ScanTarget {
  manifestId: number;
  repositoryId: number;
  repositoryName: string;
  projectId: number;
  digest: string;
  mediaType: string;
  subjectDigest: string | null;
  content: Buffer;
}

export type ScanStatus = 'pending' | 'running' | 'done' | 'error' | 'stopped';

/** The stored result of an artifact's last scan, with its summary kept denormalised. */
export interface ScanRecord {
  manifestId: number;
  status: ScanStatus;
  reportId: string;
  scanner: string;
  jobId: number | null;
  /** vulnerability-database generation the findings were matched against */
  generation: number | null;
  /** the summary of the last completed match, kept while a new scan is pending */
  summary: SeveritySummary | null;
  error: string | null;
  startedAt: number | null;
  endedAt: number | null;
  updatedAt: number;
}

export interface ScanResult {
  scanner: string;
  generation: number;
  findings: Finding[];
  summary: SeveritySummary;
  startedAt: number;
  endedAt: number;
}

export interface VerdictEvent {
  id: number;
  manifestId: number;
  repositoryId: number;
  digest: string;
  previousHighest: Severity;
  highest: Severity;
  previousSummary: SeveritySummary;
  summary: SeveritySummary;
  generation: number;
  at: number;
}

export interface ScanSchedule {
  type: 'None' | 'Hourly' | 'Daily' | 'Weekly' | 'Custom';
  cron: string;
  nextRunAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface ScanAllRun {
  id: number;
  trigger: 'Manual' | 'Schedule';
  status: 'Running' | 'Success' | 'Stopped' | 'Error';
  total: number;
  startedAt: number;
  endedAt: number | null;
}

export interface ScanRepo {
  target(manifestId: number): Promise<ScanTarget | undefined>;
  /** Harbor's project setting `auto_scan` (project_metadata) */
  autoScan(projectId: number): Promise<boolean>;

  /** layer digests among `digests` whose inventory by `analyzerVersion` is stored */
  knownLayers(digests: readonly string[], analyzerVersion: string): Promise<Set<string>>;
  layers(digests: readonly string[], analyzerVersion: string): Promise<Map<string, LayerInventory>>;
  /** a second put of the same layer and version is a no-op */
  putLayer(inventory: LayerInventory, analyzerVersion: string, now: number): Promise<void>;

  putInventory(record: ArtifactInventoryRecord): Promise<void>;
  inventory(manifestId: number): Promise<ArtifactInventoryRecord | undefined>;
  /** stored inventories in manifest id order after `afterManifestId` (re-evaluation) */
  inventories(afterManifestId: number, limit: number): Promise<(ArtifactInventoryRecord & { projectId: number; repositoryId: number; digest: string })[]>;

  scan(manifestId: number): Promise<ScanRecord | undefined>;
  scans(manifestIds: readonly number[]): Promise<Map<number, ScanRecord>>;
  findings(manifestId: number): Promise<Finding[] | undefined>;
  /** a pending scan row (a new one, or the old one with its last summary kept) */
  markPending(manifestId: number, jobId: number, reportId: string, now: number): Promise<void>;
  markRunning(manifestId: number, now: number): Promise<void>;
  saveResult(manifestId: number, result: ScanResult): Promise<void>;
  markFailed(manifestId: number, status: 'error' | 'stopped', error: string, now: number): Promise<void>;
  /** done scans in manifest id order, for index aggregation and re-evaluation of adapters */
  doneScans(afterManifestId: number, limit: number): Promise<ScanRecord[]>;

  addVerdictEvent(e: Omit<VerdictEvent, 'id'>): Promise<number>;
  verdictEvents(afterId: number, limit: number): Promise<VerdictEvent[]>;

  schedule(name: string): Promise<ScanSchedule | undefined>;
  putSchedule(name: string, s: Omit<ScanSchedule, 'createdAt'>): Promise<void>;
  /** moves next_run_at from `expected` to `next`; false when another instance did first */
  advanceSchedule(name: string, expected: number, next: number | null, now: number): Promise<boolean>;

  createScanAllRun(trigger: ScanAllRun['trigger'], now: number): Promise<ScanAllRun>;
  updateScanAllRun(id: number, patch: Partial<Pick<ScanAllRun, 'status' | 'total' | 'endedAt'>>): Promise<void>;
  latestScanAllRun(trigger?: ScanAllRun['trigger']): Promise<ScanAllRun | undefined>;
  /** the artifacts a scan-all covers: every listed image or index, in id order */
  scannableManifests(afterManifestId: number, limit: number): Promise<number[]>;
}
