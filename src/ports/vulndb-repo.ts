import type { OsvRange } from '../domain/osv-range.js';
import type { CvssScore, Severity } from '../domain/severity.js';

/** An OSV advisory as Berth keeps it: severity resolved once, at import. */
export interface Advisory {
  id: string;
  aliases: string[];
  summary: string;
  details: string;
  modified?: string;
  published?: string;
  /** osv-schema: a withdrawn advisory no longer applies to anything. */
  withdrawn?: string;
  severity: Severity;
  cvss?: CvssScore;
  /** Reference URLs, in the record's order. */
  references: string[];
}

/** One `affected[]` entry of an advisory: the package it names and what of it is affected. */
export interface AffectedEntry {
  /** The OSV ecosystem as the record spells it (`PyPI`, `Debian:12`, `Alpine:v3.19`). */
  ecosystem: string;
  /** The package name as the record spells it (the service derives the lookup key). */
  name: string;
  ranges: OsvRange[];
  versions: string[];
}

/** One advisory record, normalised from a feed. */
export interface AdvisoryRecord {
  advisory: Advisory;
  affected: AffectedEntry[];
}

export interface EpssScore {
  cve: string;
  score: number;
  percentile: number;
}

export type VulnSourceKind = 'osv' | 'kev' | 'epss';

/** A source of the database (`osv:PyPI`, `kev`, `epss`) and what its active copy holds. */
export interface VulnSource {
  name: string;
  kind: VulnSourceKind;
  /** Records in the active copy (advisories, KEV entries, EPSS rows). */
  records: number;
  /** Records of the feed that were malformed and left out. */
  skipped: number;
  /** When the active copy was imported (epoch ms); undefined when none was. */
  updatedAt?: number;
  /** When the mirror was last asked (epoch ms). */
  checkedAt?: number;
  url?: string;
  etag?: string;
  lastModified?: string;
  /** Why the last mirror update of this source failed; cleared by a successful one. */
  lastError?: string;
}

/** An affected row of an active copy, as a lookup finds it. */
export interface AffectedMatch {
  /** Opaque: which copy the advisory is in (pass back to `advisories`). */
  batch: number;
  advisoryId: string;
  source: string;
  ecosystem: string;
  name: string;
  ranges: OsvRange[];
  versions: string[];
}

/** Writes one new copy of a source; nothing of it is visible until `commit`. */
export interface VulnBatchWriter {
  /** Returns false when the copy holds the advisory id already (a duplicate, left out). */
  addAdvisory(record: AdvisoryRecord & { lookupNames: string[] }): Promise<boolean>;
  /** Returns false for a CVE the copy lists already. */
  addKev(cve: string): Promise<boolean>;
  /** Returns false for a CVE the copy scores already. */
  addEpss(row: EpssScore): Promise<boolean>;
  /**
   * Makes the copy the source's active one and removes the old copy, in one transaction with a
   * generation bump; returns the new generation.
   */
  commit(info: { records: number; skipped: number; now: number; url?: string; etag?: string; lastModified?: string }): Promise<number>;
  /** Removes what was written. */
  abort(): Promise<void>;
}

export interface VulndbRepo {
  generation(): Promise<number>;
  sources(): Promise<VulnSource[]>;
  source(name: string): Promise<VulnSource | undefined>;
  /** Starts a new copy of a source (created on first use, with no active copy). */
  beginBatch(source: string, kind: VulnSourceKind, now: number): Promise<VulnBatchWriter>;
  /** Records a mirror check that changed no data: its time, and its error or none. */
  noteCheck(source: string, kind: VulnSourceKind, check: { now: number; url: string; error?: string }): Promise<void>;
  /** Removes copies that no source points at and that are older than `before` (crashed imports). */
  removeStaleBatches(before: number): Promise<number>;
  /** Affected rows of active copies for these lookup names in one ecosystem. */
  affected(ecosystem: string, names: readonly string[]): Promise<AffectedMatch[]>;
  /** Advisories of one copy by id. */
  advisories(batch: number, ids: readonly string[]): Promise<Advisory[]>;
  /** The CVEs among `cves` that the active KEV copy lists. */
  kev(cves: readonly string[]): Promise<Set<string>>;
  /** The active EPSS copy's scores of these CVEs. */
  epss(cves: readonly string[]): Promise<Map<string, EpssScore>>;
}

// ---- feeds: where import data comes from (adapters under src/scanner/vulndb) ----

/** One source found at a path: an OSV zip, a folder of OSV records, a KEV catalog, an EPSS csv. */
export interface FeedSpec {
  /** The source it imports into (`osv:PyPI`, `kev`, `epss`). */
  source: string;
  kind: VulnSourceKind;
  path: string;
  /** How an OSV feed is packed; found from the path when absent (a mirror's download says `zip`). */
  format?: 'zip' | 'json' | 'dir';
}

export type FeedItem =
  | { type: 'advisory'; record: AdvisoryRecord }
  | { type: 'kev'; cve: string }
  | { type: 'epss'; row: EpssScore }
  | { type: 'skipped'; where: string; reason: string };

export interface VulnFeedReader {
  /**
   * The sources at a path: a file (`.zip`, `.json`, `.csv`, `.csv.gz`) or a folder (osv.dev's
   * bulk layout `<Ecosystem>/all.zip`, or OSV `.json` records). Throws a clear error when the
   * path holds none.
   */
  detect(path: string): Promise<FeedSpec[]>;
  /** The feed's items in order. Malformed records come out as `skipped`, never as a throw. */
  read(spec: FeedSpec, signal?: AbortSignal): AsyncIterable<FeedItem>;
}

/** Conditional download of one mirror file to a temporary file. */
export type MirrorFetch =
  | { status: 'not-modified' }
  | { status: 'fetched'; path: string; etag?: string; lastModified?: string; dispose(): Promise<void> };

export interface MirrorClient {
  /** Throws on a failed request (network, non-2xx/304 status, size limit). */
  fetch(url: string, cond: { etag?: string; lastModified?: string; signal?: AbortSignal }): Promise<MirrorFetch>;
}
