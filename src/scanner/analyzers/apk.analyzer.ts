import { lines, type Analyzer, type AnalyzerContext } from './analyzer.js';

const INSTALLED = 'lib/apk/db/installed';

export function apkAnalyzer(): Analyzer {
  return {
    name: 'apk',
    wants: (e) => (e.path === INSTALLED ? 'buffer' : false),
    analyze: (path, data, ctx) => parseInstalled(path, data.toString('utf8'), ctx),
  };
}

/**
 * apk's installed database: one-letter fields per package, blank line between packages
 * (P name, V version, A arch, o origin, F directory, R file in the last F).
 */
function parseInstalled(path: string, text: string, ctx: AnalyzerContext): void {
  const files: string[] = [];
  let cur: Record<string, string> = {};
  let dir = '';
  let bad = 0;
  const flush = (): void => {
    if (Object.keys(cur).length === 0) return;
    const { P: name, V: version, A: arch, o: origin } = cur;
    if (name && version) {
      ctx.addPackage({ type: 'apk', name, version, path, ...(arch ? { arch } : {}), source: { name: origin ?? name, version } });
    } else {
      bad++;
    }
    cur = {};
    dir = '';
  };
  for (const line of lines(text)) {
    if (line === '') {
      flush();
      continue;
    }
    if (line[1] !== ':') {
      bad++;
      continue;
    }
    const k = line[0]!;
    const v = line.slice(2);
    if (k === 'F') dir = v;
    else if (k === 'R') files.push(dir ? `${dir}/${v}` : v);
    else if (!(k in cur)) cur[k] = v;
  }
  flush();
  ctx.addOwned(path, files);
  if (bad > 0) ctx.warn({ code: 'malformed', message: `apk: ${bad} malformed line(s) or package(s) skipped`, path });
}
