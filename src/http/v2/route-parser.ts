import { RegistryError } from '../../domain/errors.js';
import { parseRepoName, type RepoName } from '../../domain/repo-name.js';

export type V2Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: RepoName }
  | { kind: 'manifest'; name: RepoName; reference: string }
  | { kind: 'blob'; name: RepoName; digest: string }
  | { kind: 'uploads'; name: RepoName }
  | { kind: 'upload'; name: RepoName; uuid: string }
  | { kind: 'referrers'; name: RepoName; digest: string };

/**
 * The one parser of `/v2` paths. Repository names contain `/`, so the route is found from the
 * end of the path; the name is then validated against the dist-spec grammar, which rejects
 * `..`, empty components and percent-encoding (no name is ever decoded). Only the last
 * component (a reference, digest or upload id) is percent-decoded.
 */
export function parseV2Path(rawPath: string): V2Route | undefined {
  if (!rawPath.startsWith('/v2/')) return rawPath === '/v2' ? { kind: 'base' } : undefined;
  const rest = rawPath.slice(4);
  if (rest === '') return { kind: 'base' };
  if (rest === '_catalog') return { kind: 'catalog' };
  let m: RegExpExecArray | null;
  if ((m = /^(.+)\/tags\/list$/.exec(rest))) return { kind: 'tags', name: name(m[1]!) };
  if ((m = /^(.+)\/manifests\/([^/]+)$/.exec(rest))) return { kind: 'manifest', name: name(m[1]!), reference: last(m[2]!) };
  if ((m = /^(.+)\/blobs\/uploads\/?$/.exec(rest))) return { kind: 'uploads', name: name(m[1]!) };
  if ((m = /^(.+)\/blobs\/uploads\/([^/]+)$/.exec(rest))) return { kind: 'upload', name: name(m[1]!), uuid: last(m[2]!) };
  if ((m = /^(.+)\/blobs\/([^/]+)$/.exec(rest))) return { kind: 'blob', name: name(m[1]!), digest: last(m[2]!) };
  if ((m = /^(.+)\/referrers\/([^/]+)$/.exec(rest))) return { kind: 'referrers', name: name(m[1]!), digest: last(m[2]!) };
  return undefined;
}

function name(s: string): RepoName {
  return parseRepoName(s);
}

function last(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new RegistryError('BAD_REQUEST', 'malformed percent-encoding in the path');
  }
}
