import type { Analyzer, AnalyzerContext } from './analyzer.js';

// core metadata (PyPA "Core metadata specifications"): wheels install `<name>-<ver>.dist-info/
// METADATA`; setuptools eggs `<name>.egg-info/PKG-INFO`, or `<name>.egg-info` as a single file
const DIST_INFO = /\.dist-info\/METADATA$/;
const EGG_INFO = /\.egg-info(?:\/PKG-INFO)?$/;

export function pypiAnalyzer(): Analyzer {
  return {
    name: 'pypi',
    wants: (e) => (DIST_INFO.test(e.path) || EGG_INFO.test(e.path) ? 'buffer' : false),
    maxBytes: (l) => Math.min(l.maxFileBytes, 16 * 1024 * 1024),
    analyze: (path, data, ctx) => parseMetadata(path, data, ctx),
  };
}

function parseMetadata(path: string, data: Buffer, ctx: AnalyzerContext): void {
  // the headers end at the first blank line; the long description after it is not read
  const text = data.toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  const head = end < 0 ? text : text.slice(0, end);
  let name: string | undefined;
  let version: string | undefined;
  for (const line of head.split(/\r?\n/)) {
    const m = /^(Name|Version):\s*(.*?)\s*$/i.exec(line);
    if (!m) continue;
    if (m[1]!.toLowerCase() === 'name') name ??= m[2];
    else version ??= m[2];
  }
  // PEP 508 names: letters, digits, and . _ - inside
  if (!name || !version || !/^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(name) || version.length > 128) {
    ctx.warn({ code: 'malformed', message: 'pypi: metadata without a valid Name and Version', path });
    return;
  }
  ctx.addPackage({ type: 'pypi', name, version, path });
}
