import { randomUUID } from 'node:crypto';
import { tryParseDigest } from '../domain/digest.js';
import { badRequest, RegistryError } from '../domain/errors.js';
import { isForeignLayer, MediaType } from '../domain/media-types.js';
import { parseRepoName } from '../domain/repo-name.js';
import type { ImageInventory, LayerInventory } from '../domain/sbom.js';
import type { Finding } from '../domain/vulnerability.js';
import type { Clock } from '../ports/clock.js';
import { ADAPTER_MIME, type AdapterMetadata, type AdapterScanRequest, type RegistryPuller } from '../ports/external-scanner.js';
import type { VulnerabilityMatcher } from '../ports/vuln-matcher.js';

/** The artifact types the built-in adapter reads (single-platform images). */
export const CONSUMED_MIME_TYPES: readonly string[] = [MediaType.OciManifest, MediaType.DockerManifest];
export const PRODUCED_MIME_TYPES: readonly string[] = [ADAPTER_MIME.vulnReport11, ADAPTER_MIME.vulnReport10];

export interface AdapterReport {
  generatedAt: number;
  artifact: AdapterScanRequest['artifact'];
  findings: Finding[];
  inventory: { distro?: ImageInventory['distro']; packages: number; warnings: number };
  /** false when no vulnerability database is attached: the report lists no vulnerabilities */
  matched: boolean;
}

export type ReportState =
  | { state: 'pending' }
  | { state: 'done'; report: AdapterReport }
  | { state: 'failed'; message: string };

export interface AdapterScanConfig {
  /** scans run at once; more wait in the queue */
  maxConcurrent: number;
  /** scan requests kept (queued, running or answered); more are refused until some expire */
  maxRequests: number;
  /** how long a finished report stays available */
  reportTtlMs: number;
  version: string;
}

interface Entry {
  state: ReportState;
  expiresAt: number;
  request: AdapterScanRequest;
}

type Log = { info(o: object, m: string): void; warn(o: object, m: string): void };

/**
 * Berth's scanner served as a Harbor scanner adapter: a scan request names a registry (with an
 * authorization) and an artifact; the artifact is pulled over HTTP like any client would pull
 * it, its layers analysed one after the other as streams (src/scanner), and the inventory
 * matched against the vulnerability database when one is attached. Requests and reports are
 * kept in memory, bounded in number and time: a report is asked for soon after the request,
 * by the instance that took it (put a sticky load balancer in front of several instances).
 */
export class AdapterScanService {
  private readonly entries = new Map<string, Entry>();
  private readonly queue: string[] = [];
  private running = 0;

  constructor(
    private readonly deps: {
      puller: RegistryPuller;
      /** the layer analyzers (src/scanner): one layer read once as a stream, then the merge */
      analyzer: {
        analyze(source: AsyncIterable<Uint8Array>, layerDigest: string, signal?: AbortSignal): Promise<LayerInventory>;
        merge(layers: readonly LayerInventory[]): ImageInventory;
      };
      /** looked up per scan: the database may be attached after start */
      matcher?: () => VulnerabilityMatcher | undefined;
      clock: Clock;
      log: Log;
      config: AdapterScanConfig;
    },
  ) {}

  metadata(): AdapterMetadata {
    const matched = this.deps.matcher?.() !== undefined;
    return {
      scanner: { name: 'Berth', vendor: 'Berth', version: this.deps.config.version },
      capabilities: [{ type: 'vulnerability', consumes_mime_types: [...CONSUMED_MIME_TYPES], produces_mime_types: [...PRODUCED_MIME_TYPES] }],
      properties: {
        'harbor.scanner-adapter/scanner-type': 'os-package-vulnerability',
        'berth.dev/vulnerability-database': matched ? 'attached' : 'none (inventory only)',
      },
    };
  }

  /** Validates and queues a scan request; returns its id. */
  accept(body: unknown): string {
    const request = validateScanRequest(body);
    this.sweep();
    if (this.entries.size >= this.deps.config.maxRequests) {
      throw new RegistryError('TOOMANYREQUESTS', `the adapter holds ${this.deps.config.maxRequests} scan requests: ask again later`, { retryAfterSeconds: 10 });
    }
    const id = randomUUID();
    this.entries.set(id, { state: { state: 'pending' }, expiresAt: Number.POSITIVE_INFINITY, request });
    this.queue.push(id);
    this.deps.log.info({ scanRequest: id, repository: request.artifact.repository, digest: request.artifact.digest }, 'scan request accepted');
    this.pump();
    return id;
  }

  report(id: string): ReportState | undefined {
    this.sweep();
    return this.entries.get(id)?.state;
  }

  private pump(): void {
    while (this.running < this.deps.config.maxConcurrent && this.queue.length > 0) {
      const id = this.queue.shift()!;
      const entry = this.entries.get(id);
      if (!entry) continue;
      this.running++;
      void this.run(entry.request)
        .then(
          (report): ReportState => ({ state: 'done', report }),
          (e: unknown): ReportState => {
            const message = e instanceof RegistryError ? e.message : 'the scan failed';
            this.deps.log.warn({ scanRequest: id, err: e instanceof RegistryError ? e.message : String(e) }, 'scan request failed');
            return { state: 'failed', message };
          },
        )
        .then((state) => {
          entry.state = state;
          entry.expiresAt = this.deps.clock.now() + this.deps.config.reportTtlMs;
          // a request, once done, no longer needs the registry's authorization
          entry.request = { ...entry.request, registry: { url: entry.request.registry.url } };
          this.running--;
          this.pump();
        });
    }
  }

  private async run(req: AdapterScanRequest): Promise<AdapterReport> {
    const { puller, analyzer } = this.deps;
    const session = puller.session(req.registry.url, req.registry.authorization || undefined, req.artifact.repository);
    const { mediaType, body } = await session.manifest(req.artifact.digest, CONSUMED_MIME_TYPES);
    if (!CONSUMED_MIME_TYPES.includes(mediaType)) throw badRequest(`the artifact is a ${mediaType.slice(0, 100)}, not an image manifest`);
    const layers = imageLayers(body);
    const inventories: LayerInventory[] = [];
    // one layer at a time: memory stays bounded by the analyzers, not by the image
    for (const l of layers) inventories.push(await analyzer.analyze(session.blob(l), l));
    const inventory = analyzer.merge(inventories);
    const matcher = this.deps.matcher?.();
    const findings = matcher ? await matcher.match(inventory) : [];
    return {
      generatedAt: this.deps.clock.now(),
      artifact: req.artifact,
      findings,
      inventory: { ...(inventory.distro ? { distro: inventory.distro } : {}), packages: inventory.packages.length, warnings: inventory.warnings.length },
      matched: matcher !== undefined,
    };
  }

  private sweep(): void {
    const now = this.deps.clock.now();
    for (const [id, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(id);
  }
}

/** The distributable layers of an image manifest, lowest first. */
function imageLayers(body: Uint8Array): string[] {
  let doc: { layers?: unknown };
  try {
    doc = JSON.parse(Buffer.from(body).toString('utf8')) as { layers?: unknown };
  } catch {
    throw badRequest('the manifest is not JSON');
  }
  if (!Array.isArray(doc.layers)) throw badRequest('the manifest lists no layers');
  if (doc.layers.length > 1000) throw badRequest('the manifest lists more than 1000 layers');
  const out: string[] = [];
  for (const l of doc.layers as { mediaType?: unknown; digest?: unknown }[]) {
    if (typeof l?.digest !== 'string' || !tryParseDigest(l.digest)) throw badRequest('a layer of the manifest has no valid digest');
    if (typeof l.mediaType === 'string' && isForeignLayer(l.mediaType)) continue;
    out.push(l.digest);
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The spec's ScanRequest, checked field by field (422 UNPROCESSABLE_ENTITY for a bad field). */
export function validateScanRequest(body: unknown): AdapterScanRequest {
  const bad = (m: string) => new RegistryError('UNPROCESSABLE_ENTITY', m);
  if (!isObject(body)) throw badRequest('the scan request is not a JSON object');
  const registry = body['registry'];
  const artifact = body['artifact'];
  if (!isObject(registry) || typeof registry['url'] !== 'string' || registry['url'] === '') throw bad('registry.url is required');
  let url: URL;
  try {
    url = new URL(registry['url']);
  } catch {
    throw bad('registry.url is not a URL');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) throw bad('registry.url must be an http(s) URL without credentials');
  const authorization = registry['authorization'];
  if (authorization !== undefined && (typeof authorization !== 'string' || authorization.length > 16_384)) throw bad('registry.authorization must be a string');
  if (!isObject(artifact)) throw bad('artifact is required');
  const { repository, digest, tag, mime_type: mime } = artifact;
  if (typeof repository !== 'string') throw bad('artifact.repository is required');
  try {
    parseRepoName(repository);
  } catch {
    throw bad('artifact.repository is not a valid repository name');
  }
  if (typeof digest !== 'string' || !tryParseDigest(digest)) throw bad('artifact.digest is not a valid digest');
  if (tag !== undefined && (typeof tag !== 'string' || tag.length > 128)) throw bad('artifact.tag must be a string');
  if (typeof mime !== 'string') throw bad('artifact.mime_type is required');
  if (!CONSUMED_MIME_TYPES.includes(mime)) throw bad(`artifact.mime_type ${mime.slice(0, 100)} is not supported: the adapter scans ${CONSUMED_MIME_TYPES.join(', ')}`);
  return {
    registry: { url: registry['url'], ...(typeof authorization === 'string' && authorization !== '' ? { authorization } : {}) },
    artifact: { repository, digest, ...(typeof tag === 'string' && tag !== '' ? { tag } : {}), mime_type: mime },
  };
}
