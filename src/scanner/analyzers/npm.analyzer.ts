import { baseName } from '../layer-paths.js';
import type { Analyzer, AnalyzerContext } from './analyzer.js';

// node_modules/<name>/package.json and node_modules/@scope/<name>/package.json: the manifests of
// installed packages (not the package.json files some packages keep in their own subfolders)
const INSTALLED = /(?:^|\/)node_modules\/(?:@[^/]+\/)?[^/@.][^/]*\/package\.json$/;
// npm's name rules (validate-npm-package-name): at most 214 characters, URL-safe
const NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9._~-][a-z0-9._~-]*$/i;

export function npmAnalyzer(): Analyzer {
  return {
    name: 'npm',
    wants(e) {
      if (INSTALLED.test(e.path)) return 'buffer';
      const base = baseName(e.path);
      if (base === 'package-lock.json' || base === 'npm-shrinkwrap.json' || base === 'yarn.lock') {
        // node_modules/.package-lock.json (npm's hidden lockfile) repeats what node_modules holds
        return e.path.includes('node_modules/') ? false : 'buffer';
      }
      return false;
    },
    analyze(path, data, ctx) {
      const base = baseName(path);
      if (base === 'yarn.lock') return yarnLock(path, data.toString('utf8'), ctx);
      const json = parseJson(data, path, ctx);
      if (json === undefined) return;
      if (base === 'package.json') return packageJson(path, json, ctx);
      return packageLock(path, json, ctx);
    },
  };
}

function parseJson(data: Buffer, path: string, ctx: AnalyzerContext): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (e) {
    ctx.warn({ code: 'malformed', message: `npm: invalid JSON (${(e as Error).message.slice(0, 100)})`, path });
    return undefined;
  }
}

function add(ctx: AnalyzerContext, path: string, name: unknown, version: unknown): boolean {
  if (typeof name !== 'string' || typeof version !== 'string' || name.length > 214 || !NAME.test(name) || !version || version.length > 256) {
    return false;
  }
  const slash = name.startsWith('@') ? name.indexOf('/') : -1;
  ctx.addPackage({
    type: 'npm',
    ...(slash > 0 ? { namespace: name.slice(0, slash), name: name.slice(slash + 1) } : { name }),
    version,
    path,
  });
  return true;
}

function packageJson(path: string, json: unknown, ctx: AnalyzerContext): void {
  const j = json as { name?: unknown; version?: unknown } | null;
  if (!j || typeof j !== 'object' || !add(ctx, path, j.name, j.version)) {
    ctx.warn({ code: 'malformed', message: 'npm: package.json without a valid name and version', path });
  }
}

interface LockEntry {
  version?: unknown;
  name?: unknown;
  dev?: unknown;
  link?: unknown;
  dependencies?: unknown;
}

/** package-lock.json: v2/v3 `packages` keyed by install path; v1 nested `dependencies`. */
function packageLock(path: string, json: unknown, ctx: AnalyzerContext): void {
  const lock = json as { lockfileVersion?: unknown; packages?: unknown; dependencies?: unknown } | null;
  if (!lock || typeof lock !== 'object' || Array.isArray(lock) || (typeof lock.packages !== 'object' && typeof lock.dependencies !== 'object')) {
    ctx.warn({ code: 'malformed', message: 'npm: lock file without packages or dependencies', path });
    return;
  }
  if (lock.packages && typeof lock.packages === 'object') {
    for (const [key, v] of Object.entries(lock.packages as Record<string, LockEntry>)) {
      // "" is the project itself; links are workspace folders, not installed packages
      if (key === '' || !v || typeof v !== 'object' || v.link === true || v.dev === true) continue;
      const i = key.lastIndexOf('node_modules/');
      if (i < 0) continue;
      add(ctx, path, typeof v.name === 'string' ? v.name : key.slice(i + 'node_modules/'.length), v.version);
    }
    return;
  }
  // v1: dependencies nest; walked with an explicit stack so depth costs no call stack
  const stack: Array<Record<string, LockEntry>> = [];
  if (lock.dependencies && typeof lock.dependencies === 'object') stack.push(lock.dependencies as Record<string, LockEntry>);
  while (stack.length > 0) {
    for (const [name, v] of Object.entries(stack.pop()!)) {
      if (!v || typeof v !== 'object') continue;
      if (v.dev !== true) add(ctx, path, name, v.version);
      if (v.dependencies && typeof v.dependencies === 'object') stack.push(v.dependencies as Record<string, LockEntry>);
    }
  }
}

/**
 * yarn.lock, classic (v1: `version "1.2.3"`) and berry (`version: 1.2.3`): a block per resolved
 * package whose unindented header lists the specifiers (`"name@^1.0.0", name@~1.1`).
 */
function yarnLock(path: string, text: string, ctx: AnalyzerContext): void {
  let name: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    if (line[0] !== ' ') {
      const first = line.replace(/:$/, '').split(',')[0]!.trim().replace(/^"|"$/g, '');
      const at = first.indexOf('@', 1);
      name = at > 0 && first !== '__metadata' ? first.slice(0, at) : undefined;
      // berry marks the project and workspaces with `@workspace:`
      if (first.includes('@workspace:')) name = undefined;
      continue;
    }
    const m = /^\s{2}version:?\s+"?([^"\s]+)"?\s*$/.exec(line);
    if (m && name) {
      add(ctx, path, name, m[1]);
      name = undefined;
    }
  }
}
