import { isIndexMediaType } from './media-types.js';

/**
 * What Harbor calls an artifact, derived from a stored manifest: its type (IMAGE, CHART, CNAB,
 * …), the media type it shows, and the attributes it extracts from the config.
 *
 * `artifactType` is what the manifest row keeps for the referrers API: the manifest's
 * `artifactType`, else its config's media type. image-spec says `artifactType` names the
 * artifact when it is set, so it decides the type before the config does.
 */
export const CONFIG_TYPES = {
  IMAGE: ['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json'],
  CHART: ['application/vnd.cncf.helm.config.v1+json'],
  CNAB: ['application/vnd.cnab.config.v1+json', 'application/vnd.cnab.bundle.config.v1+json'],
} as const;

const KNOWN = new Map<string, string>(Object.entries(CONFIG_TYPES).flatMap(([type, mts]) => mts.map((mt): [string, string] => [mt, type])));

// Harbor's default processor: application/vnd.<vendor>.… → VENDOR
const VENDOR = /^application\/vnd\.([^.]+)\..*$/;

export function artifactTypeOf(manifestMediaType: string, artifactType: string | null): string {
  if (artifactType !== null) {
    const known = KNOWN.get(artifactType);
    if (known) return known;
    const vendor = VENDOR.exec(artifactType)?.[1];
    return vendor ? vendor.toUpperCase() : 'UNKNOWN';
  }
  // an index without an artifactType is a multi-platform image
  return isIndexMediaType(manifestMediaType) ? 'IMAGE' : 'UNKNOWN';
}

/** Harbor's `media_type`: the config's (or the artifactType), the manifest's for an index. */
export function artifactMediaTypeOf(manifestMediaType: string, artifactType: string | null): string {
  return artifactType ?? manifestMediaType;
}

/**
 * How to find the artifacts of one type in SQL, the inverse of `artifactTypeOf`: rows whose
 * artifactType is one of `exact`, or starts with `prefix` without being a known type, or (for
 * IMAGE) indexes without an artifactType.
 */
export interface TypeSelector {
  exact: string[];
  prefix?: string;
  indexWithoutArtifactType: boolean;
  /** UNKNOWN: neither a known type nor a vendor media type */
  unknown?: boolean;
}

export function typeSelector(type: string): TypeSelector {
  const t = type.toUpperCase();
  const exact = [...((CONFIG_TYPES as Record<string, readonly string[]>)[t] ?? [])];
  if (exact.length) return { exact, indexWithoutArtifactType: t === 'IMAGE' };
  if (t === 'UNKNOWN') return { exact: [], indexWithoutArtifactType: false, unknown: true };
  if (!/^[A-Z0-9_-]+$/.test(t)) return { exact: [], indexWithoutArtifactType: false };
  return { exact: [], prefix: `application/vnd.${t.toLowerCase()}.`, indexWithoutArtifactType: false };
}

export const KNOWN_ARTIFACT_TYPES: ReadonlySet<string> = new Set(KNOWN.keys());

/** Harbor's accessory types, by the accessory's artifactType. */
export function accessoryTypeOf(artifactType: string | null): string {
  switch (artifactType) {
    case 'application/vnd.dev.cosign.artifact.sig.v1+json':
      return 'signature.cosign';
    case 'application/vnd.cncf.notary.signature':
      return 'signature.notation';
    case 'application/vnd.goharbor.harbor.sbom.v1':
      return 'harbor.sbom';
    default:
      return 'subject.accessory';
  }
}

export const isSignatureAccessory = (type: string) => type.startsWith('signature.');

/**
 * Harbor's `extra_attrs`: for an image, the config's architecture, os, config, created and
 * author; for a chart, its metadata (the config is Chart.yaml as JSON); nothing otherwise.
 */
export function extraAttrsOf(type: string, config: unknown): Record<string, unknown> {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return {};
  const c = config as Record<string, unknown>;
  if (type === 'IMAGE') {
    const out: Record<string, unknown> = {};
    for (const k of ['architecture', 'os', 'variant', 'config', 'created', 'author']) if (c[k] !== undefined) out[k] = c[k];
    return out;
  }
  if (type === 'CHART') return c;
  return {};
}
