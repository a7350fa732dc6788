import { accessoryTypeOf, artifactMediaTypeOf, artifactTypeOf, extraAttrsOf, isSignatureAccessory } from '../domain/artifact.js';
import { tryParseDigest } from '../domain/digest.js';
import type { Descriptor, Platform } from '../domain/manifest.js';
import { isIndexMediaType } from '../domain/media-types.js';
import type { ManifestRecord, ManifestWithContent, Repository } from '../domain/records.js';
import type { Label, TagRecord } from '../ports/catalog-repos.js';
import type { Metadata } from '../ports/metadata.js';
import type { ScanRecord } from '../ports/scan-repo.js';
import type { StorageDriver } from '../ports/storage-driver.js';
import { blobPath } from './storage-paths.js';
import { TtlCache } from './ttl-cache.js';

/** What a listing or a lookup adds to each artifact (Harbor's with_* parameters). */
export interface ViewOptions {
  withTag: boolean;
  withLabel: boolean;
  withAccessory: boolean;
  withSignature: boolean;
  withImmutableStatus: boolean;
  /** with_scan_overview, with the report mime types X-Accept-Vulnerabilities asks for */
  scanOverviewMimes?: readonly string[];
}

export interface ReferenceView {
  parentId: number;
  childId: number | null;
  childDigest: string;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface AccessoryView {
  id: number;
  subjectId: number;
  subjectDigest: string;
  repositoryName: string;
  digest: string;
  size: number;
  type: string;
  createdAt: number;
}

export interface TagView extends TagRecord {
  /** set with with_signature: whether the artifact has a signature accessory */
  signed?: boolean;
}

export interface ArtifactView {
  id: number;
  type: string;
  mediaType: string;
  manifestMediaType: string;
  projectId: number;
  repositoryId: number;
  repositoryName: string;
  digest: string;
  size: number;
  pushedAt: number;
  extraAttrs: Record<string, unknown>;
  annotations: Record<string, string> | null;
  references: ReferenceView[] | null;
  tags: TagView[] | null;
  labels: Label[] | null;
  accessories: AccessoryView[] | null;
  /** set when asked for (with_scan_overview) and the artifact has a scan record */
  scanOverview?: { mimeTypes: readonly string[]; scan: ScanRecord };
}

/** Configs larger than this are not read for extra_attrs (an image config is a few KiB). */
const MAX_CONFIG_BYTES = 1024 * 1024;
const CONFIG_READS_AT_ONCE = 8;

interface ParsedContent {
  config?: Descriptor;
  children: Descriptor[];
}

function parseContent(content: Buffer): ParsedContent {
  try {
    const doc = JSON.parse(content.toString('utf8')) as { config?: Descriptor; manifests?: Descriptor[] };
    return { ...(doc.config && typeof doc.config.digest === 'string' ? { config: doc.config } : {}), children: Array.isArray(doc.manifests) ? doc.manifests : [] };
  } catch {
    return { children: [] };
  }
}

/**
 * Builds Harbor's artifact views for a page of manifests with a fixed number of queries (tags,
 * labels, blob sizes, children, accessories: one each, whatever the page size). Configs are
 * read from storage once per digest and kept: they never change.
 */
export class ArtifactViews {
  private readonly configs: TtlCache<string, Record<string, unknown> | null>;

  constructor(private readonly deps: { metadata: Metadata; storage: StorageDriver }) {
    this.configs = new TtlCache(20_000);
  }

  async build(repo: Repository, rows: readonly ManifestWithContent[], opts: ViewOptions): Promise<ArtifactView[]> {
    const { metadata } = this.deps;
    const ids = rows.map((r) => r.id);
    const parsed = rows.map((r) => parseContent(r.content));
    const childDigests = [...new Set(parsed.flatMap((p) => p.children.map((c) => c.digest)))];
    const wantAccessories = opts.withAccessory || opts.withSignature;
    const mimes = opts.scanOverviewMimes?.length ? opts.scanOverviewMimes : undefined;
    const [tags, labels, bytes, childIds, accessories, extras, scans] = await Promise.all([
      opts.withTag ? metadata.artifacts.tagsOf(ids) : undefined,
      opts.withLabel ? metadata.labels.labelsOf(ids) : undefined,
      metadata.artifacts.blobBytes(ids),
      childDigests.length ? metadata.artifacts.manifestIds(repo.id, childDigests) : new Map<string, number>(),
      wantAccessories ? metadata.artifacts.accessoriesOf(repo.id, rows.map((r) => r.digest)) : undefined,
      this.extraAttrs(rows, parsed),
      // the summary is stored per artifact: one lookup for the page, nothing computed here
      mimes ? metadata.scans.scans(ids) : undefined,
    ]);
    const accessoryBytes = accessories?.length ? await metadata.artifacts.blobBytes(accessories.map((a) => a.id)) : new Map<number, number>();
    return rows.map((r, i) => {
      const type = artifactTypeOf(r.mediaType, r.artifactType);
      const mine = accessories?.filter((a) => a.subjectDigest === r.digest).map((a) => accessoryView(repo, r, a, accessoryBytes));
      const signed = mine?.some((a) => isSignatureAccessory(a.type)) ?? false;
      const p = parsed[i]!;
      return {
        id: r.id,
        type,
        mediaType: artifactMediaTypeOf(r.mediaType, r.artifactType),
        manifestMediaType: r.mediaType,
        projectId: repo.projectId,
        repositoryId: repo.id,
        repositoryName: repo.name,
        digest: r.digest,
        size: r.size + (bytes.get(r.id) ?? 0),
        pushedAt: r.createdAt,
        extraAttrs: extras[i]!,
        annotations: r.annotations,
        references: isIndexMediaType(r.mediaType)
          ? p.children.map((c) => ({
              parentId: r.id,
              childId: childIds.get(c.digest) ?? null,
              childDigest: c.digest,
              ...(c.platform ? { platform: c.platform } : {}),
              ...(c.annotations ? { annotations: c.annotations } : {}),
              ...(c.urls ? { urls: c.urls } : {}),
            }))
          : null,
        tags: tags ? (tags.get(r.id) ?? []).map((t) => (opts.withSignature ? { ...t, signed } : t)) : null,
        labels: labels ? (labels.get(r.id) ?? []) : null,
        accessories: opts.withAccessory ? (mine ?? []) : null,
        ...(mimes && scans?.get(r.id) ? { scanOverview: { mimeTypes: mimes, scan: scans.get(r.id)! } } : {}),
      };
    });
  }

  private async extraAttrs(rows: readonly ManifestRecord[], parsed: readonly ParsedContent[]): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = rows.map(() => ({}));
    const todo = rows.map((r, i) => ({ r, i, config: parsed[i]!.config })).filter((x) => x.config !== undefined);
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const { r, i, config } = todo[next++]!;
        const doc = await this.config(config!);
        out[i] = extraAttrsOf(artifactTypeOf(r.mediaType, r.artifactType), doc);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONFIG_READS_AT_ONCE, todo.length) }, worker));
    return out;
  }

  /** The config as JSON; null when it is not JSON, too large, or missing from storage. */
  private async config(d: Descriptor): Promise<Record<string, unknown> | null> {
    const cached = this.configs.get(d.digest);
    if (cached !== undefined) return cached;
    const digest = tryParseDigest(d.digest);
    let doc: Record<string, unknown> | null = null;
    let ttl = 24 * 3600_000;
    if (digest && d.size <= MAX_CONFIG_BYTES && (d.mediaType.endsWith('+json') || d.mediaType.endsWith('/json'))) {
      try {
        const parsed: unknown = JSON.parse((await this.deps.storage.getContent(blobPath(digest))).toString('utf8'));
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) doc = parsed as Record<string, unknown>;
      } catch {
        // unreadable now (missing, storage down): no extra_attrs, and try again soon
        ttl = 10_000;
      }
    }
    this.configs.set(d.digest, doc, ttl);
    return doc;
  }
}

function accessoryView(repo: Repository, subject: ManifestRecord, a: ManifestRecord, bytes: Map<number, number>): AccessoryView {
  return {
    id: a.id,
    subjectId: subject.id,
    subjectDigest: subject.digest,
    repositoryName: repo.name,
    digest: a.digest,
    size: a.size + (bytes.get(a.id) ?? 0),
    type: accessoryTypeOf(a.artifactType),
    createdAt: a.createdAt,
  };
}
