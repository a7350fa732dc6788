import type { ExtractedPackage } from './sbom.js';

/** One `history` entry of an OCI image config (image-spec config.md). */
export interface ImageHistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** What an SBOM document says about the artifact it describes, besides its packages. */
export interface SbomSubject {
  /** `library/app` */
  repository: string;
  /** the manifest digest, `sha256:…` */
  digest: string;
  mediaType: string;
  /** `host[:port]` clients pull from, when the registry knows its address */
  registry?: string;
  tags?: readonly string[];
  /** the manifest's annotations (org.opencontainers.image.source, .revision, .version, .created …) */
  annotations?: Readonly<Record<string, string>>;
  /** the image config's history, oldest first */
  history?: readonly ImageHistoryEntry[];
  /** layer digests in manifest order (the non-empty history entries made them, in order) */
  layers?: readonly string[];
  platform?: { os?: string; architecture?: string; variant?: string };
}

/** What the caller decides for a document: the domain takes no clock and no randomness. */
export interface SbomGeneration {
  /** ms since epoch */
  timestamp: number;
  /** a random UUID (lower case) that names this document */
  serial: string;
  tool: { name: string; version: string };
  /** base URI of SPDX document namespaces, e.g. the registry's external URL */
  namespaceBase?: string;
}

export const OCI_SOURCE = 'org.opencontainers.image.source';
export const OCI_REVISION = 'org.opencontainers.image.revision';
export const OCI_VERSION = 'org.opencontainers.image.version';
export const OCI_CREATED = 'org.opencontainers.image.created';

/** purl-spec's oci type: `pkg:oci/<last name segment>@<digest>?repository_url=<registry>/<repository>`. */
export function ociPurl(s: SbomSubject): string {
  const name = s.repository.slice(s.repository.lastIndexOf('/') + 1).toLowerCase();
  const q: [string, string][] = [];
  if (s.platform?.architecture) q.push(['arch', s.platform.architecture]);
  if (s.registry) q.push(['repository_url', `${s.registry}/${s.repository}`]);
  if (s.tags?.[0]) q.push(['tag', s.tags[0]]);
  const enc = (v: string) => encodeURIComponent(v).replace(/%2F/g, '/').replace(/%3A/g, ':');
  const qs = q.map(([k, v]) => `${k}=${enc(v)}`).join('&');
  return `pkg:oci/${encodeURIComponent(name)}@${encodeURIComponent(s.digest)}${qs ? `?${qs}` : ''}`;
}

/** The version a document gives the artifact: its version annotation, else its first tag, else its digest. */
export function subjectVersion(s: SbomSubject): string {
  return s.annotations?.[OCI_VERSION] ?? s.tags?.[0] ?? s.digest;
}

/** History entries with the digest of the layer each non-empty one made. */
export function historyWithLayers(s: SbomSubject): (ImageHistoryEntry & { layerDigest?: string })[] {
  const layers = s.layers ?? [];
  let i = 0;
  return (s.history ?? []).map((h) => {
    if (h.empty_layer) return { ...h };
    const layerDigest = layers[i++];
    return layerDigest ? { ...h, layerDigest } : { ...h };
  });
}

/** Packages grouped by purl (one component per purl), in purl order; occurrences in scan order. */
export function groupByPurl(packages: readonly ExtractedPackage[]): { purl: string; first: ExtractedPackage; all: ExtractedPackage[] }[] {
  const by = new Map<string, ExtractedPackage[]>();
  for (const p of packages) {
    const list = by.get(p.purl);
    if (list) list.push(p);
    else by.set(p.purl, [p]);
  }
  return [...by.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([purl, all]) => ({ purl, first: all[0]!, all }));
}

/** The `algorithm:hex` parts of a digest. */
export function splitDigest(digest: string): { algorithm: string; hex: string } {
  const i = digest.indexOf(':');
  return { algorithm: digest.slice(0, i), hex: digest.slice(i + 1) };
}

/** Where a package was found: its file, and the entries inside an archive (`a.war!/WEB-INF/lib/b.jar`). */
export function occurrenceLocation(p: ExtractedPackage): string {
  return [p.path, ...(p.innerPath ?? [])].join('!/');
}
