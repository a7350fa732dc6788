import { baseName } from '../layer-paths.js';
import type { Analyzer, AnalyzerContext } from './analyzer.js';

export function cargoAnalyzer(): Analyzer {
  return {
    name: 'cargo',
    wants: (e) => (baseName(e.path) === 'Cargo.lock' ? 'buffer' : false),
    analyze: (path, data, ctx) => parseCargoLock(path, data.toString('utf8'), ctx),
  };
}

/**
 * Cargo.lock: TOML with one `[[package]]` table per resolved crate (name, version, source).
 * Only that shape is read, line by line: a full TOML parser is not needed for cargo's own output.
 */
function parseCargoLock(path: string, text: string, ctx: AnalyzerContext): void {
  let cur: Record<string, string> | undefined;
  let tables = 0;
  const flush = (): void => {
    if (!cur) return;
    const { name, version, source } = cur;
    // a crate without `source` is a member of the workspace that was built, not a dependency
    if (name && version && source) ctx.addPackage({ type: 'cargo', name, version, path });
    cur = undefined;
  };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      flush();
      if (line === '[[package]]') {
        cur = {};
        tables++;
      }
      continue;
    }
    const m = cur && /^(name|version|source)\s*=\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(line);
    if (m && cur) cur[m[1]!] = m[2]!;
  }
  flush();
  if (tables === 0) ctx.warn({ code: 'malformed', message: 'cargo: Cargo.lock without [[package]] tables', path });
}
