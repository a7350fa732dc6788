import type { Distro, ExtractedPackage, ScanWarning } from '../../domain/sbom.js';
import type { ScanLimits } from '../scan-limits.js';

/** What the layer reader knows of an entry before its bytes arrive. */
export interface EntryInfo {
  path: string;
  size: number;
  mode: number;
}

/** A found package before the layer reader adds its purl and layer digest. */
export type FoundPackage = Omit<ExtractedPackage, 'purl' | 'layerDigest' | 'distro'>;

export interface AnalyzerContext {
  readonly limits: ScanLimits;
  warn(w: ScanWarning): void;
  addPackage(p: FoundPackage): void;
  addOwned(source: string, paths: Iterable<string>): void;
  setDistro(d: Distro, path: string): void;
}

/** Receives one file's bytes as they stream by; keeps bounded state of its own. */
export interface ChunkSink {
  write(chunk: Buffer): void;
  /** Called once the whole file went by (never for a file cut short). */
  end(ctx: AnalyzerContext): void | Promise<void>;
}

/**
 * One package type's reader. `wants` sees paths only: an analyzer asks for files by name and gets
 * each one whole as a buffer (up to `maxBytes`) or, when it opens a sink, as a stream.
 * Analyzers are made fresh for each layer and may keep state until `finish`.
 */
export interface Analyzer {
  readonly name: string;
  wants(entry: EntryInfo): 'buffer' | 'stream' | false;
  /** Largest file accepted as a buffer; bigger ones are skipped with a `file-too-large` warning. */
  maxBytes?(limits: ScanLimits): number;
  analyze?(path: string, data: Buffer, ctx: AnalyzerContext): void | Promise<void>;
  open?(entry: EntryInfo, ctx: AnalyzerContext): ChunkSink | undefined;
  finish?(ctx: AnalyzerContext): void | Promise<void>;
}

export type AnalyzerFactory = () => Analyzer;

/** Splits text into lines without a regexp over the whole buffer (status files are large). */
export function lines(text: string): string[] {
  return text.split(/\r?\n/);
}

/**
 * RFC 822-style stanzas (dpkg status, apk installed, METADATA): `Key: value` lines, continuation
 * lines starting with a space, stanzas separated by blank lines.
 */
export function* stanzas(text: string): Generator<Map<string, string>> {
  let cur = new Map<string, string>();
  let last: string | undefined;
  for (const line of lines(text)) {
    if (line.trim() === '') {
      if (cur.size > 0) yield cur;
      cur = new Map();
      last = undefined;
      continue;
    }
    if ((line[0] === ' ' || line[0] === '\t') && last !== undefined) {
      cur.set(last, cur.get(last) + '\n' + line.trim());
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) {
      last = undefined;
      continue;
    }
    last = line.slice(0, i).trim();
    cur.set(last, line.slice(i + 1).trim());
  }
  if (cur.size > 0) yield cur;
}
