import type { Distro } from '../../domain/sbom.js';
import { lines, type Analyzer } from './analyzer.js';

// os-release(5): /etc/os-release takes precedence over /usr/lib/os-release
const PATHS = ['etc/os-release', 'usr/lib/os-release'];

export function osReleaseAnalyzer(): Analyzer {
  const seen = new Map<string, Distro>();
  return {
    name: 'os-release',
    wants: (e) => (PATHS.includes(e.path) ? 'buffer' : false),
    maxBytes: () => 64 * 1024,
    analyze(path, data) {
      const d = parseOsRelease(data.toString('utf8'));
      if (d) seen.set(path, d);
    },
    finish(ctx) {
      for (const p of PATHS) {
        const d = seen.get(p);
        if (d) return ctx.setDistro(d, p);
      }
    },
  };
}

/** Shell-style `KEY=value` assignments, values optionally quoted (os-release(5)). */
export function parseOsRelease(text: string): Distro | undefined {
  const kv = new Map<string, string>();
  for (const line of lines(text)) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!.trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) {
      v = v.slice(1, -1).replace(/\\(["'$`\\])/g, '$1');
    }
    kv.set(m[1]!, v);
  }
  const id = kv.get('ID');
  if (!id || !/^[a-z0-9._-]{1,64}$/.test(id)) return undefined;
  const d: Distro = { id };
  const versionId = kv.get('VERSION_ID');
  const codename = kv.get('VERSION_CODENAME');
  const prettyName = kv.get('PRETTY_NAME');
  if (versionId) d.versionId = versionId.slice(0, 64);
  if (codename) d.codename = codename.slice(0, 64);
  if (prettyName) d.prettyName = prettyName.slice(0, 200);
  return d;
}
