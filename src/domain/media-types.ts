export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaType.OciManifest,
  MediaType.OciIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
];

export const isIndexMediaType = (t: string) => t === MediaType.OciIndex || t === MediaType.DockerManifestList;

/** Layers a registry need not hold: the client fetches them from `urls` (image-spec layer.md). */
const FOREIGN_LAYER_TYPES = new Set([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);
export const isForeignLayer = (t: string) => FOREIGN_LAYER_TYPES.has(t);

/** `type/subtype` without parameters, lowercased; undefined for an absent or empty header. */
export function essence(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const t = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return t === '' ? undefined : t;
}
