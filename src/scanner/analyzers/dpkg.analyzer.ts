import { baseName } from '../layer-paths.js';
import { lines, stanzas, type Analyzer, type AnalyzerContext } from './analyzer.js';

const STATUS = 'var/lib/dpkg/status';
// distroless keeps one status stanza per package under status.d/, next to `<pkg>.md5sums` files
const STATUS_D = 'var/lib/dpkg/status.d/';
const INFO = 'var/lib/dpkg/info/';

export function dpkgAnalyzer(): Analyzer {
  return {
    name: 'dpkg',
    wants(e) {
      if (e.path === STATUS) return 'buffer';
      if (e.path.startsWith(STATUS_D) && !e.path.slice(STATUS_D.length).includes('/') && !e.path.endsWith('.md5sums')) return 'buffer';
      if (e.path.startsWith(INFO) && e.path.endsWith('.list') && !e.path.slice(INFO.length).includes('/')) return 'buffer';
      return false;
    },
    analyze(path, data, ctx) {
      if (path.startsWith(INFO)) {
        ctx.addOwned(path, lines(data.toString('utf8')).filter((l) => l.startsWith('/')));
        return;
      }
      parseStatus(path, data.toString('utf8'), path !== STATUS, ctx);
    },
  };
}

function parseStatus(path: string, text: string, statusOptional: boolean, ctx: AnalyzerContext): void {
  let bad = 0;
  let good = 0;
  for (const s of stanzas(text)) {
    const name = s.get('Package');
    const version = s.get('Version');
    const status = s.get('Status');
    if (!name || !version || !/^[a-z0-9][a-z0-9+.-]*$/.test(name)) {
      bad++;
      continue;
    }
    // dpkg(1) Status is "want flag state": only state `installed` with flag `ok` is on disk
    // (`install ok installed`, and `hold ok installed` for a held package); half-installed,
    // config-files and not-installed stanzas are not
    if (status !== undefined ? !/^(install|hold|deinstall) ok installed$/.test(status) : !statusOptional) continue;
    good++;
    const arch = s.get('Architecture');
    const src = s.get('Source');
    let source: { name: string; version?: string } | undefined;
    if (src) {
      // "Source: openssl (3.0.11-1~deb12u2)" when the source version differs from the binary's
      const m = /^(\S+)(?:\s+\(([^)]+)\))?/.exec(src);
      if (m) source = { name: m[1]!, version: m[2] ?? version };
    }
    ctx.addPackage({
      type: 'deb',
      name,
      version,
      path,
      ...(arch ? { arch } : {}),
      source: source ?? { name, version },
    });
  }
  if (bad > 0) {
    ctx.warn({ code: 'malformed', message: `dpkg: ${bad} stanza(s) without a valid Package/Version skipped (${good} read) in ${baseName(path)}`, path });
  }
}
