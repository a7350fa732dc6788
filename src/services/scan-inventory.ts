import { tryParseDigest } from '../domain/digest.js';
import { RegistryError } from '../domain/errors.js';
import type { Descriptor } from '../domain/manifest.js';
import { isForeignLayer } from '../domain/media-types.js';
import type { ImageInventory, LayerInventory } from '../domain/sbom.js';
import type { Clock } from '../ports/clock.js';
import type { LayerAnalyzer } from '../ports/layer-analyzer.js';
import type { Metadata, MetadataRepos } from '../ports/metadata.js';
import type { PackageIndexWriter } from '../ports/package-index.js';
import type { ArtifactInventoryRecord, ImageFacts, ScanTarget } from '../ports/scan-repo.js';
import type { StorageDriver } from '../ports/storage-driver.js';
import { blobPath } from './storage-paths.js';

/** An image config is a few KiB; one larger than this is not read for history and labels. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const OCI_KEYS = ['source', 'revision', 'version', 'created', 'url', 'title', 'description', 'licenses', 'vendor', 'authors', 'base.name', 'base.digest', 'ref.name'];

export type PackageIndexSource = PackageIndexWriter | ((tx: MetadataRepos) => PackageIndexWriter);

export interface InventoryStats {
  /** layer blobs read from storage and analysed */
  layersRead: number;
  /** layers whose stored inventory was used instead */
  layersReused: number;
  /** artifacts whose stored inventory was used whole */
  inventoriesReused: number;
}

interface ImageManifestDoc {
  config?: Descriptor;
  layers?: Descriptor[];
  annotations?: Record<string, string>;
}

/**
 * The inventory of an image: layers are content addressed, so each layer blob is read once per
 * analyzer version, whatever image it appears in (its inventory is stored by digest); the
 * image's merged inventory is stored per manifest, with its config's history and annotations.
 */
export class InventoryBuilder {
  readonly stats: InventoryStats = { layersRead: 0, layersReused: 0, inventoriesReused: 0 };
  /** layer analyses in progress in this process, so two scans sharing a layer read it once */
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly deps: {
      metadata: Metadata;
      storage: StorageDriver;
      analyzer: LayerAnalyzer;
      clock: Clock;
      packageIndex?: PackageIndexSource;
      /** layers of one image analysed at once */
      layerConcurrency: number;
      /** after a freshly built inventory is stored (the SBOM referrers); a failure is logged, never the scan's */
      onInventoryStored?: (target: ScanTarget, inventory: ImageInventory) => Promise<unknown>;
      log?: { warn(obj: object, msg: string): void };
    },
  ) {}

  /** The stored inventory when it is of this analyzer version, else one built (and stored) now. */
  async inventoryOf(target: ScanTarget, signal?: AbortSignal): Promise<ArtifactInventoryRecord> {
    const { metadata, analyzer } = this.deps;
    const stored = await metadata.scans.inventory(target.manifestId);
    if (stored && stored.analyzerVersion === analyzer.version) {
      this.stats.inventoriesReused++;
      return stored;
    }
    const doc = parseImage(target.content);
    const layers = (doc.layers ?? []).filter((l) => !isForeignLayer(l.mediaType));
    const digests = layers.map((l) => l.digest);
    await this.ensureLayers(digests, signal);
    const byDigest = await metadata.scans.layers(digests, analyzer.version);
    const ordered: LayerInventory[] = digests.map((d) => {
      const inv = byDigest.get(d);
      if (!inv) throw new RegistryError('INTERNAL_ERROR', `the inventory of layer ${d} was not stored`);
      return inv;
    });
    const inventory: ImageInventory = analyzer.merge(ordered);
    const record: ArtifactInventoryRecord = {
      manifestId: target.manifestId,
      analyzerVersion: analyzer.version,
      inventory,
      image: await this.imageFacts(doc, digests),
      createdAt: this.deps.clock.now(),
    };
    await metadata.transaction(async (tx) => {
      await tx.scans.putInventory(record);
      const index = this.deps.packageIndex;
      if (index) await (typeof index === 'function' ? index(tx) : index).replace(target.manifestId, inventory.packages);
    });
    await this.deps.onInventoryStored?.(target, inventory).catch((err: unknown) =>
      this.deps.log?.warn({ repository: target.repositoryName, digest: target.digest, err }, 'the SBOM referrers of a new inventory could not be stored'),
    );
    return record;
  }

  private async ensureLayers(digests: readonly string[], signal?: AbortSignal): Promise<void> {
    const { metadata, analyzer } = this.deps;
    const unique = [...new Set(digests)];
    const known = await metadata.scans.knownLayers(unique, analyzer.version);
    this.stats.layersReused += unique.filter((d) => known.has(d)).length;
    const todo = unique.filter((d) => !known.has(d));
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const d = todo[next++]!;
        let p = this.inFlight.get(d);
        if (!p) {
          p = this.analyzeLayer(d, signal).finally(() => this.inFlight.delete(d));
          this.inFlight.set(d, p);
        }
        await p;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.deps.layerConcurrency, todo.length) }, worker));
  }

  private async analyzeLayer(layerDigest: string, signal?: AbortSignal): Promise<void> {
    const { metadata, analyzer, storage, clock } = this.deps;
    // another instance may have stored it since the lookup
    if ((await metadata.scans.knownLayers([layerDigest], analyzer.version)).size) return;
    const digest = tryParseDigest(layerDigest);
    if (!digest) throw new RegistryError('MANIFEST_INVALID', `invalid layer digest ${layerDigest.slice(0, 100)}`);
    const stream = await storage.reader(blobPath(digest), signal ? { signal } : {});
    this.stats.layersRead++;
    let inventory: LayerInventory;
    try {
      inventory = await analyzer.analyze(stream, layerDigest, signal);
    } finally {
      stream.destroy();
    }
    await metadata.scans.putLayer(inventory, analyzer.version, clock.now());
  }

  private async imageFacts(doc: ImageManifestDoc, layers: string[]): Promise<ImageFacts> {
    const config = await this.readConfig(doc.config);
    const labels = isRecord(config?.['config']) && isRecord(config['config']['Labels']) ? config['config']['Labels'] : {};
    const annotations: Record<string, string> = {};
    for (const k of OCI_KEYS) {
      const key = `org.opencontainers.image.${k}`;
      const v = doc.annotations?.[key] ?? labels[key];
      if (typeof v === 'string') annotations[key] = v;
    }
    const history = Array.isArray(config?.['history'])
      ? (config['history'] as unknown[]).filter(isRecord).map((h) => ({
          ...(typeof h['created'] === 'string' ? { created: h['created'] } : {}),
          ...(typeof h['created_by'] === 'string' ? { created_by: h['created_by'] } : {}),
          ...(typeof h['comment'] === 'string' ? { comment: h['comment'] } : {}),
          ...(typeof h['author'] === 'string' ? { author: h['author'] } : {}),
          ...(h['empty_layer'] === true ? { empty_layer: true } : {}),
        }))
      : [];
    const str = (k: string) => (typeof config?.[k] === 'string' ? { [k]: config[k] as string } : {});
    return {
      layers,
      ...(doc.config ? { configDigest: doc.config.digest } : {}),
      ...str('os'),
      ...str('architecture'),
      ...str('variant'),
      ...str('created'),
      history,
      annotations,
    };
  }

  private async readConfig(d: Descriptor | undefined): Promise<Record<string, unknown> | undefined> {
    const digest = d && tryParseDigest(d.digest);
    if (!d || !digest || d.size > MAX_CONFIG_BYTES) return undefined;
    try {
      const parsed: unknown = JSON.parse((await this.deps.storage.getContent(blobPath(digest))).toString('utf8'));
      return isRecord(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseImage(content: Buffer): ImageManifestDoc {
  try {
    const doc: unknown = JSON.parse(content.toString('utf8'));
    if (!isRecord(doc)) return {};
    return {
      ...(isRecord(doc['config']) ? { config: doc['config'] as unknown as Descriptor } : {}),
      layers: Array.isArray(doc['layers']) ? (doc['layers'] as unknown[]).filter(isRecord).map((l) => l as unknown as Descriptor) : [],
      ...(isRecord(doc['annotations']) ? { annotations: doc['annotations'] as Record<string, string> } : {}),
    };
  } catch {
    return {};
  }
}

/** The children of an index, in order. */
export function indexChildren(content: Buffer): Descriptor[] {
  try {
    const doc: unknown = JSON.parse(content.toString('utf8'));
    return isRecord(doc) && Array.isArray(doc['manifests']) ? (doc['manifests'] as unknown[]).filter(isRecord).map((d) => d as unknown as Descriptor) : [];
  } catch {
    return [];
  }
}
