import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { digestOf, parseDigest } from '../domain/digest.js';
import { badRequest, notFound } from '../domain/errors.js';
import type { Descriptor } from '../domain/manifest.js';
import { isIndexMediaType, MediaType } from '../domain/media-types.js';
import { parseLookupReference } from '../domain/reference.js';
import { parseRepoName, type RepoName } from '../domain/repo-name.js';
import type { ImageInventory } from '../domain/sbom.js';
import { CYCLONEDX_MEDIA_TYPE, cycloneDxDocument } from '../domain/sbom-cyclonedx.js';
import { SPDX_MEDIA_TYPE, spdxDocument } from '../domain/sbom-spdx.js';
import type { ImageHistoryEntry, SbomSubject } from '../domain/sbom-subject.js';
import type { ManifestWithContent } from '../domain/records.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata } from '../ports/metadata.js';
import type { StorageDriver } from '../ports/storage-driver.js';
import type { BlobUploadService } from './blob-upload.service.js';
import type { ManifestService } from './manifest.service.js';
import { blobPath } from './storage-paths.js';

export type SbomFormat = 'cyclonedx' | 'spdx';

export const SBOM_ARTIFACT_TYPES: Record<SbomFormat, string> = { cyclonedx: CYCLONEDX_MEDIA_TYPE, spdx: SPDX_MEDIA_TYPE };
/** Harbor 2.11's SBOM accessories (made by its Trivy adapter) carry this artifact type. */
export const HARBOR_SBOM_ARTIFACT_TYPE = 'application/vnd.goharbor.harbor.sbom.v1';

/** Marks the referrers Berth generated, so that a new SBOM replaces its own and never a pushed one. */
export const GENERATOR_ANNOTATION = 'dev.berth.sbom.generator';
/** Digest of the inventory a document was made from: an unchanged inventory makes no new referrer. */
export const INVENTORY_ANNOTATION = 'dev.berth.sbom.inventory';

/** image-spec: the empty descriptor `{}` for artifacts without a config. */
const EMPTY_JSON = Buffer.from('{}');
const EMPTY_DIGEST = digestOf(EMPTY_JSON).value;
/** An image config is read for its history only up to this size. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const FILE_NAMES: Record<SbomFormat, string> = { cyclonedx: 'sbom.cdx.json', spdx: 'sbom.spdx.json' };

export interface SbomMeta {
  /** overrides of what is read from the manifest and its config */
  tags?: readonly string[];
  annotations?: Readonly<Record<string, string>>;
  history?: readonly ImageHistoryEntry[];
}

export interface PublishedSbom {
  format: SbomFormat;
  digest: string;
  /** false when an SBOM of the same inventory was there already */
  created: boolean;
}

export interface SbomDocument {
  mediaType: string;
  size: number;
  digest: string;
  body: Readable;
}

/**
 * SBOM documents as OCI referrers: `publish` renders an artifact's inventory as CycloneDX 1.6
 * and SPDX 2.3 and pushes each as a manifest whose `subject` is the artifact (artifactType the
 * document's media type, the document its one layer), through the same upload and manifest
 * services a client push goes through; `/v2/<name>/referrers/<digest>` and `oras discover`
 * list them. A newer SBOM of Berth's replaces its older one; an SBOM a client pushed stays.
 */
export class SbomService {
  /** publications in progress per artifact: one at a time, so two never both add an SBOM */
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly deps: {
      metadata: Metadata;
      storage: StorageDriver;
      uploads: BlobUploadService;
      manifests: ManifestService;
      clock: Clock;
      config: { toolVersion: string; externalUrl?: string; formats?: readonly SbomFormat[] };
    },
  ) {}

  /** The scan service's hook: publish after an inventory is stored; failures are the caller's to log. */
  readonly onInventoryStored = (repositoryName: string, manifestDigest: string, inventory: ImageInventory): Promise<PublishedSbom[]> =>
    this.publish(repositoryName, manifestDigest, inventory);

  publish(repositoryName: string, manifestDigest: string, inventory: ImageInventory, meta: SbomMeta = {}): Promise<PublishedSbom[]> {
    const key = `${repositoryName}@${manifestDigest}`;
    const previous = this.running.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.publishNow(repositoryName, manifestDigest, inventory, meta));
    this.running.set(key, next);
    const forget = () => {
      if (this.running.get(key) === next) this.running.delete(key);
    };
    next.then(forget, forget);
    return next;
  }

  private async publishNow(repositoryName: string, manifestDigest: string, inventory: ImageInventory, meta: SbomMeta): Promise<PublishedSbom[]> {
    const name = parseRepoName(repositoryName);
    const { manifest, subject } = await this.subjectOf(name, parseDigest(manifestDigest).value, meta);
    const inventoryDigest = inventoryKey(inventory);
    const out: PublishedSbom[] = [];
    for (const format of this.deps.config.formats ?? (['cyclonedx', 'spdx'] as const)) {
      out.push(await this.publishOne(name, manifest, subject, inventory, inventoryDigest, format));
    }
    return out;
  }

  /**
   * The SBOM of an artifact, for Harbor's `additions/sbom`: the artifact's own layer when it is
   * an SBOM (Harbor asks on the accessory), else the newest SBOM referrer of the format asked for.
   */
  async document(repositoryName: RepoName, reference: string, format?: SbomFormat): Promise<SbomDocument> {
    const { metadata, storage } = this.deps;
    const repo = await metadata.repositories.getByName(repositoryName.value);
    if (!repo) throw notFound(`repository ${repositoryName.value} not found`);
    const ref = parseLookupReference(reference);
    const m = ref.kind === 'tag' ? await metadata.manifests.getByTag(repo.id, ref.tag) : await metadata.manifests.get(repo.id, ref.digest.value);
    if (!m) throw notFound(`artifact ${reference} not found`);
    let sbomManifest: ManifestWithContent | undefined = isSbomType(m.artifactType) ? m : undefined;
    if (!sbomManifest) {
      const wanted = format ? [SBOM_ARTIFACT_TYPES[format]] : [SPDX_MEDIA_TYPE, CYCLONEDX_MEDIA_TYPE, HARBOR_SBOM_ARTIFACT_TYPE];
      for (const type of wanted) {
        const newest = newestOf(await metadata.manifests.referrers(repo.id, m.digest, type));
        if (newest) {
          sbomManifest = await metadata.manifests.get(repo.id, newest.digest);
          if (sbomManifest) break;
        }
      }
    }
    if (!sbomManifest) throw notFound(`no ${format ?? ''} SBOM for ${repositoryName.value}@${m.digest}`.replace('  ', ' '));
    const layers = (JSON.parse(sbomManifest.content.toString('utf8')) as { layers?: Descriptor[] }).layers ?? [];
    // Harbor: an SBOM artifact has exactly one layer
    if (layers.length !== 1) throw notFound('the SBOM artifact does not have exactly one layer');
    const layer = layers[0]!;
    const digest = parseDigest(layer.digest);
    const body = await storage.reader(blobPath(digest));
    const mediaType = layer.mediaType === HARBOR_SBOM_ARTIFACT_TYPE || !layer.mediaType ? 'application/json' : layer.mediaType;
    return { mediaType, size: layer.size, digest: digest.value, body };
  }

  private async publishOne(
    name: RepoName,
    subjectManifest: ManifestWithContent,
    subject: SbomSubject,
    inventory: ImageInventory,
    inventoryDigest: string,
    format: SbomFormat,
  ): Promise<PublishedSbom> {
    const { metadata, uploads, manifests, clock, config } = this.deps;
    const artifactType = SBOM_ARTIFACT_TYPES[format];
    const ours = (await metadata.manifests.referrers(subjectManifest.repositoryId, subjectManifest.digest, artifactType)).filter(
      (d) => d.annotations?.[GENERATOR_ANNOTATION] === 'berth',
    );
    const same = ours.find((d) => d.annotations?.[INVENTORY_ANNOTATION] === inventoryDigest);
    if (same) return { format, digest: same.digest, created: false };

    const now = clock.now();
    const gen = { timestamp: now, serial: randomUUID(), tool: { name: 'berth', version: config.toolVersion }, ...(config.externalUrl ? { namespaceBase: config.externalUrl } : {}) };
    const doc = format === 'cyclonedx' ? cycloneDxDocument(inventory, subject, gen) : spdxDocument(inventory, subject, gen);
    const bytes = Buffer.from(JSON.stringify(doc));
    const docDigest = digestOf(bytes).value;
    const canPull = async () => false;
    await uploads.start(name, { digest: EMPTY_DIGEST, body: Readable.from([EMPTY_JSON]), contentLength: EMPTY_JSON.length, canPull });
    await uploads.start(name, { digest: docDigest, body: Readable.from([bytes]), contentLength: bytes.length, canPull });
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType,
      config: { mediaType: MediaType.OciEmpty, digest: EMPTY_DIGEST, size: EMPTY_JSON.length, data: EMPTY_JSON.toString('base64') },
      layers: [{ mediaType: artifactType, digest: docDigest, size: bytes.length, annotations: { 'org.opencontainers.image.title': FILE_NAMES[format] } }],
      subject: { mediaType: subjectManifest.mediaType, digest: subjectManifest.digest, size: subjectManifest.size },
      annotations: {
        'org.opencontainers.image.created': new Date(now).toISOString(),
        [GENERATOR_ANNOTATION]: 'berth',
        [INVENTORY_ANNOTATION]: inventoryDigest,
      },
    };
    const body = Buffer.from(JSON.stringify(manifest));
    const digest = digestOf(body).value;
    await manifests.put(name, digest, body, MediaType.OciManifest);
    // the older generated SBOMs of this format go; their blobs are left to garbage collection
    for (const old of ours) if (old.digest !== digest) await manifests.delete(name, old.digest).catch(() => undefined);
    return { format, digest, created: true };
  }

  /** The artifact's identity, annotations, tags and (for an image) its config's history and platform. */
  private async subjectOf(name: RepoName, digest: string, meta: SbomMeta): Promise<{ manifest: ManifestWithContent; subject: SbomSubject }> {
    const { metadata, storage, config } = this.deps;
    const repo = await metadata.repositories.getByName(name.value);
    if (!repo) throw notFound(`repository ${name.value} not found`);
    const manifest = await metadata.manifests.get(repo.id, digest);
    if (!manifest) throw notFound(`artifact ${name.value}@${digest} not found`);
    if (manifest.subjectDigest !== null && isSbomType(manifest.artifactType)) throw badRequest('an SBOM artifact gets no SBOM of its own');
    let parsed: { config?: Descriptor; layers?: Descriptor[] } = {};
    try {
      parsed = JSON.parse(manifest.content.toString('utf8')) as typeof parsed;
    } catch {
      // stored manifests were parsed on push; a schema 1 manifest has neither config nor layers
    }
    let history: ImageHistoryEntry[] | undefined;
    let platform: SbomSubject['platform'];
    const cfg = parsed.config;
    if (!isIndexMediaType(manifest.mediaType) && cfg && cfg.size <= MAX_CONFIG_BYTES && /config/.test(cfg.mediaType) && cfg.mediaType !== MediaType.OciEmpty) {
      try {
        const c = JSON.parse((await storage.getContent(blobPath(parseDigest(cfg.digest)))).toString('utf8')) as {
          history?: ImageHistoryEntry[];
          os?: string;
          architecture?: string;
          variant?: string;
        };
        if (Array.isArray(c.history)) history = c.history.filter((h) => h && typeof h === 'object').slice(0, 1000).map(historyEntry);
        platform = { ...(typeof c.os === 'string' ? { os: c.os } : {}), ...(typeof c.architecture === 'string' ? { architecture: c.architecture } : {}), ...(typeof c.variant === 'string' ? { variant: c.variant } : {}) };
      } catch {
        // a config that is not an image config (or not readable) only costs the history
      }
    }
    const tags = meta.tags ?? (await metadata.packageIndex.artifacts([manifest.id])).get(manifest.id)?.tags ?? [];
    const registry = config.externalUrl ? new URL(config.externalUrl).host : undefined;
    const annotations = meta.annotations ?? manifest.annotations ?? undefined;
    const h = meta.history ?? history;
    const subject: SbomSubject = {
      repository: name.value,
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      ...(registry ? { registry } : {}),
      ...(tags.length ? { tags } : {}),
      ...(annotations ? { annotations } : {}),
      ...(h ? { history: h } : {}),
      ...(parsed.layers ? { layers: parsed.layers.map((l) => l.digest) } : {}),
      ...(platform && Object.keys(platform).length ? { platform } : {}),
    };
    return { manifest, subject };
  }
}

function historyEntry(h: ImageHistoryEntry): ImageHistoryEntry {
  const s = (v: unknown) => (typeof v === 'string' ? v.slice(0, 4096) : undefined);
  const out: ImageHistoryEntry = {};
  const created = s(h.created);
  const createdBy = s(h.created_by);
  const comment = s(h.comment);
  if (created) out.created = created;
  if (createdBy) out.created_by = createdBy;
  if (comment) out.comment = comment;
  if (h.empty_layer === true) out.empty_layer = true;
  return out;
}

function isSbomType(t: string | null): boolean {
  return t === CYCLONEDX_MEDIA_TYPE || t === SPDX_MEDIA_TYPE || t === HARBOR_SBOM_ARTIFACT_TYPE;
}

/** The referrer with the latest `org.opencontainers.image.created`; ties go to the last listed. */
function newestOf(ds: readonly Descriptor[]): Descriptor | undefined {
  let best: Descriptor | undefined;
  let bestAt = -Infinity;
  for (const d of ds) {
    const at = Date.parse(d.annotations?.['org.opencontainers.image.created'] ?? '') || 0;
    if (at >= bestAt) {
      best = d;
      bestAt = at;
    }
  }
  return best;
}

/** A digest of what the documents are made from (packages and their places, the distribution). */
function inventoryKey(inv: ImageInventory): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(inv.distro ?? null));
  const rows = inv.packages.map((p) => `${p.purl}\0${p.layerDigest}\0${p.path}\0${(p.innerPath ?? []).join('/')}`).sort();
  for (const r of rows) h.update(r).update('\n');
  return `sha256:${h.digest('hex')}`;
}

export function parseSbomFormat(s: string | undefined): SbomFormat | undefined {
  if (s === undefined || s === '') return undefined;
  const f = s.toLowerCase();
  if (f === 'cyclonedx' || f === 'cdx') return 'cyclonedx';
  if (f === 'spdx') return 'spdx';
  throw badRequest('format must be spdx or cyclonedx');
}
