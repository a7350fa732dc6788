/**
 * Harbor's repository paths put the repository name, which may contain `/`, in one path
 * segment: clients encode the `/` once (`a%2Fb`) or twice (`a%252Fb`), and the routes take it
 * as one parameter. A client that sends it plain (`a/b`) is served too: its URL is rewritten
 * to the encoded form before routing. Which segments are the name is read from the right:
 * the last `artifacts` segment followed by one of the shapes below ends the name; without
 * one, every segment is the name. A plain name that itself has an `artifacts` component is
 * ambiguous that way; such names must be sent encoded.
 */
const PREFIX = /^\/api\/v2\.0\/projects\/([^/?]+)\/repositories\/([^?]+)(\?.*)?$/;

/** what may follow `artifacts/` (the reference and Harbor's sub-resources) */
const TAILS: readonly ((rest: readonly string[]) => boolean)[] = [
  (r) => r.length === 0,
  (r) => r.length === 1,
  (r) => r.length === 2 && ['tags', 'labels', 'scan', 'accessories', 'additions'].includes(r[1]!),
  (r) => r.length === 3 && ['tags', 'labels', 'additions', 'scan'].includes(r[1]!),
  (r) => r.length === 4 && r[1] === 'scan' && r[3] === 'log',
  (r) => r.length === 3 && r[1] === 'additions' && r[2] === 'vulnerabilities',
];

export function canonicalRepositoryUrl(url: string): string {
  const m = PREFIX.exec(url);
  if (!m) return url;
  const segments = m[2]!.split('/');
  if (segments.length < 2) return url;
  let cut = segments.length;
  for (let i = segments.length - 1; i >= 1; i--) {
    if (segments[i] === 'artifacts' && TAILS.some((t) => t(segments.slice(i + 1)))) {
      cut = i;
      break;
    }
  }
  // one segment left for the name: nothing to rewrite
  if (cut <= 1) return url;
  const name = segments.slice(0, cut).join('%2F');
  const rest = segments.slice(cut).join('/');
  return `/api/v2.0/projects/${m[1]}/repositories/${name}${rest ? `/${rest}` : ''}${m[3] ?? ''}`;
}
