import type { Analyzer, AnalyzerContext, AnalyzerFactory, ChunkSink, FoundPackage } from './analyzers/analyzer.js';
import { DEFAULT_ANALYZERS } from './analyzers/registry.js';
import { LayerStop, decodeLayer } from './layer-decoder.js';
import { cleanLayerPath, whiteoutOf } from './layer-paths.js';
import { withPurl } from './purl.js';
import { type Distro, type ExtractedPackage, type LayerInventory, type OwnedFiles } from '../domain/sbom.js';
import { scanLimits, type ScanLimits } from './scan-limits.js';
import { readTar } from './tar-reader.js';
import { WarningList } from './warning-list.js';

export interface ScanLayerOptions {
  /** The layer's digest as the manifest names it; recorded on every package. */
  layerDigest: string;
  limits?: Partial<ScanLimits>;
  analyzers?: readonly AnalyzerFactory[];
  signal?: AbortSignal;
}

/**
 * Reads one layer blob as a stream, once, and returns what its analyzers found. Hostile content
 * ends the read early or skips a file, with a warning; only a failure of `source` itself (or the
 * abort signal) throws.
 */
export async function scanLayer(source: AsyncIterable<Uint8Array>, opts: ScanLayerOptions): Promise<LayerInventory> {
  const limits = scanLimits(opts.limits);
  const warnings = new WarningList();
  const found: FoundPackage[] = [];
  const owned: OwnedFiles[] = [];
  let ownedCount = 0;
  let distro: { d: Distro; path: string } | undefined;
  const analyzed = new Set<string>();
  const whiteouts: string[] = [];
  const opaqueDirs: string[] = [];
  let packagesCapped = false;
  let ownedCapped = false;

  const ctx: AnalyzerContext = {
    limits,
    warn: (w) => warnings.add(w),
    addPackage(p) {
      if (found.length >= limits.maxPackages) {
        if (!packagesCapped) warnings.add({ code: 'limit', message: `more than ${limits.maxPackages} packages in one layer: the rest are dropped` });
        packagesCapped = true;
        return;
      }
      found.push(p);
    },
    addOwned(src, paths) {
      const kept: string[] = [];
      for (const p of paths) {
        if (ownedCount >= limits.maxOwnedPaths) {
          if (!ownedCapped) warnings.add({ code: 'limit', message: `more than ${limits.maxOwnedPaths} package-owned paths: the rest are not recorded` });
          ownedCapped = true;
          break;
        }
        const c = cleanLayerPath(p);
        if (c.ok && c.path) {
          kept.push(c.path);
          ownedCount++;
        }
      }
      owned.push({ source: src, paths: kept });
    },
    setDistro(d, path) {
      distro = { d, path };
    },
  };

  const analyzers: Analyzer[] = (opts.analyzers ?? DEFAULT_ANALYZERS).map((f) => f());
  const decoded = await decodeLayer(source, limits);
  const tarStats: { endMarker: boolean; endedBetweenEntries?: boolean } = { endMarker: false };
  let entries = 0;
  let complete = false;
  try {
    for await (const entry of readTar(decoded.chunks, { maxHeaderBytes: limits.maxTarHeaderBytes }, tarStats)) {
      opts.signal?.throwIfAborted();
      if (++entries > limits.maxEntries) {
        throw new LayerStop({ code: 'entry-limit', message: `layer has more than ${limits.maxEntries} entries: the rest were not read` });
      }
      const clean = cleanLayerPath(entry.name);
      if (!clean.ok) {
        warnings.add({ code: 'unsafe-path', message: `entry skipped: ${clean.reason}`, path: entry.name.slice(0, 300) });
        continue;
      }
      // `/` itself is the layer root (umoci writes it so): nothing to warn about
      if (clean.absolute && clean.path !== '') {
        warnings.add({ code: 'unsafe-path', message: 'absolute entry name read relative to the layer root', path: clean.path.slice(0, 300) });
      }
      const path = clean.path;
      if (path === '') continue;
      const wh = whiteoutOf(path);
      if (wh) {
        if (wh.kind === 'opaque') opaqueDirs.push(wh.dir);
        else whiteouts.push(wh.path);
        continue;
      }
      const info = { path, size: entry.size, mode: entry.mode };
      const buffered: Analyzer[] = [];
      const sinks: ChunkSink[] = [];
      for (const a of analyzers) {
        const want = a.wants(info);
        if (!want) continue;
        analyzed.add(path);
        // links and directories at a package file's path hide the lower copy but carry no data;
        // links are never followed, so no name can point a read outside the layer
        if (entry.type !== 'file') continue;
        if (want === 'stream') {
          const s = a.open?.(info, ctx);
          if (s) sinks.push(s);
        } else {
          const max = a.maxBytes?.(limits) ?? limits.maxFileBytes;
          if (entry.size > max) {
            warnings.add({ code: 'file-too-large', message: `${a.name}: ${entry.size} bytes exceeds the ${max}-byte limit, not read`, path });
          } else {
            buffered.push(a);
          }
        }
      }
      if (buffered.length === 0 && sinks.length === 0) continue;
      const data = buffered.length > 0 ? Buffer.allocUnsafe(entry.size) : undefined;
      let got = 0;
      for await (const c of entry.body()) {
        if (data) c.copy(data, got);
        got += c.length;
        for (const s of sinks) s.write(c);
      }
      if (got < entry.size) break; // the reader throws 'truncated' on the next step
      for (const s of sinks) await guarded(() => s.end(ctx), ctx, 'stream', path);
      for (const a of buffered) await guarded(() => a.analyze?.(path, data!, ctx), ctx, a.name, path);
    }
    complete = true;
    // a layer is content addressed: its digest, not the end-of-archive blocks, says it is whole;
    // a stream that stops at an entry boundary without them is a producer's habit (umoci)
    if (!tarStats.endMarker && !tarStats.endedBetweenEntries) {
      warnings.add({ code: 'truncated', message: 'layer ends without the tar end-of-archive blocks' });
      complete = entries > 0;
    }
  } catch (e) {
    if (!(e instanceof LayerStop)) throw e;
    warnings.add(e.warning);
  }
  for (const a of analyzers) await guarded(() => a.finish?.(ctx), ctx, a.name, undefined);

  const layerDistro = distro?.d;
  const packages: ExtractedPackage[] = found.map((p) => withPurl(p, opts.layerDigest, layerDistro));
  return {
    layerDigest: opts.layerDigest,
    compression: decoded.compression,
    packages,
    ...(distro ? { distro: distro.d, distroPath: distro.path } : {}),
    owned,
    analyzedPaths: [...analyzed],
    whiteouts,
    opaqueDirs,
    entries: Math.min(entries, limits.maxEntries),
    bytesRead: decoded.stats.bytesOut,
    complete,
    warnings: warnings.list(),
  };
}

/** An analyzer that throws on a file it cannot parse degrades to a warning, never a failed scan. */
async function guarded(fn: () => unknown, ctx: AnalyzerContext, who: string, path: string | undefined): Promise<void> {
  try {
    await fn();
  } catch (e) {
    ctx.warn({ code: 'malformed', message: `${who}: ${(e as Error).message ?? String(e)}`.slice(0, 500), ...(path ? { path } : {}) });
  }
}
