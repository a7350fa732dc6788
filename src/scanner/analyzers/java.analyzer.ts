import { baseName } from '../layer-paths.js';
import type { Analyzer, AnalyzerContext, FoundPackage } from './analyzer.js';
import { readZipDirectory, readZipEntry, type ZipEntry } from './zip-archive.js';

const ARCHIVE = /\.(?:jar|war|ear|jpi|hpi)$/i;
const POM_PROPERTIES = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;
const MANIFEST = 'META-INF/MANIFEST.MF';
const SMALL = 1024 * 1024;

export function javaAnalyzer(): Analyzer {
  return {
    name: 'java',
    wants: (e) => (ARCHIVE.test(e.path) ? 'buffer' : false),
    maxBytes: (l) => l.maxArchiveBytes,
    analyze(path, data, ctx) {
      const budget = { left: ctx.limits.maxArchiveInflatedBytes };
      readArchive(data, path, [], 0, budget, ctx);
    },
  };
}

/**
 * One archive: a package per `pom.properties` (Maven writes one per artifact, shaded ones
 * included); when there is none, the manifest's Implementation-* or Bundle-* attributes.
 * Archives inside it are opened in turn, up to `maxArchiveDepth`.
 */
function readArchive(b: Buffer, path: string, inner: string[], depth: number, budget: { left: number }, ctx: AnalyzerContext): void {
  const where = inner.length ? `${path}!/${inner.join('!/')}` : path;
  let entries: ZipEntry[];
  try {
    entries = readZipDirectory(b);
  } catch (e) {
    ctx.warn({ code: 'malformed', message: `java: ${(e as Error).message} in ${where}`, path });
    return;
  }
  const read = (e: ZipEntry, max: number): Buffer | undefined => {
    try {
      const out = readZipEntry(b, e, Math.min(max, budget.left));
      budget.left -= e.method === 0 ? 0 : out.length;
      return out;
    } catch (err) {
      const limit = err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      ctx.warn({ code: limit ? 'limit' : 'malformed', message: `java: ${e.name.slice(0, 200)} in ${where}: ${(err as Error).message.slice(0, 200)}`, path });
      return undefined;
    }
  };
  const base: Omit<FoundPackage, 'name' | 'version'> = { type: 'maven', path, ...(inner.length ? { innerPath: inner } : {}) };
  let poms = 0;
  for (const e of entries) {
    if (!POM_PROPERTIES.test(e.name)) continue;
    const data = read(e, SMALL);
    if (!data) continue;
    const p = properties(data.toString('utf8'));
    const g = p.get('groupId');
    const a = p.get('artifactId');
    const v = p.get('version');
    if (g && a && v) {
      ctx.addPackage({ ...base, namespace: g, name: a, version: v });
      poms++;
    }
  }
  if (poms === 0) {
    const mf = entries.find((e) => e.name === MANIFEST);
    const data = mf && read(mf, SMALL);
    const m = data ? manifest(data.toString('utf8')) : new Map<string, string>();
    const name = m.get('Implementation-Title') ?? m.get('Bundle-SymbolicName')?.split(';')[0];
    const version = m.get('Implementation-Version') ?? m.get('Bundle-Version');
    const group = m.get('Implementation-Vendor-Id');
    if (name && version && /^[\w.-]+$/.test(name)) {
      ctx.addPackage({ ...base, ...(group ? { namespace: group } : {}), name, version });
    }
  }
  for (const e of entries) {
    if (!ARCHIVE.test(e.name) || e.name.endsWith('/')) continue;
    if (depth + 1 > ctx.limits.maxArchiveDepth) {
      ctx.warn({ code: 'nesting-limit', message: `java: ${baseName(e.name)} nested deeper than ${ctx.limits.maxArchiveDepth} archives, not opened`, path });
      continue;
    }
    const data = read(e, ctx.limits.maxArchiveBytes);
    if (data) readArchive(data, path, [...inner, e.name], depth + 1, budget, ctx);
  }
}

/** java.util.Properties, the subset Maven writes: `key=value` lines, `#` comments. */
function properties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (!t || t.startsWith('#') || t.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(t);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** JAR File Specification: `Name: value` headers, 72-byte lines continued by a leading space. */
function manifest(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break; // the main section ends at the first blank line
    if (line.startsWith(' ') && last) {
      out.set(last, out.get(last) + line.slice(1));
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) continue;
    last = line.slice(0, i);
    out.set(last, line.slice(i + 1).trim());
  }
  return out;
}
