import { OS_PACKAGE_TYPES, type ExtractedPackage, type ImageInventory } from './sbom.js';
import {
  groupByPurl,
  historyWithLayers,
  OCI_REVISION,
  OCI_SOURCE,
  occurrenceLocation,
  ociPurl,
  type SbomGeneration,
  type SbomSubject,
  splitDigest,
  subjectVersion,
} from './sbom-subject.js';

export const CYCLONEDX_MEDIA_TYPE = 'application/vnd.cyclonedx+json';
export const CYCLONEDX_SPEC_VERSION = '1.6';

type Json = Record<string, unknown>;
interface Property {
  name: string;
  value: string;
}

/** CycloneDX hash-alg names of OCI digest algorithms. */
const HASH_ALG: Record<string, string> = { sha256: 'SHA-256', sha512: 'SHA-512', sha384: 'SHA-384' };

/**
 * A CycloneDX 1.6 BOM of an artifact: the artifact as `metadata.component` (type container,
 * its oci purl and digest), the operating system the inventory found, and one component per
 * distinct package purl with where each copy was found (`evidence.occurrences`: the file, and
 * in `additionalContext` the layer). The image history and annotations become properties.
 * Deterministic for equal inputs; timestamp and serial number come from the caller.
 */
export function cycloneDxDocument(inventory: ImageInventory, subject: SbomSubject, gen: SbomGeneration): Json {
  const rootRef = ociPurl(subject);
  const groups = groupByPurl(inventory.packages);
  const distro = inventory.distro;
  const osRef = distro ? `os:${distro.id}${distro.versionId ? `@${distro.versionId}` : ''}` : undefined;

  const components: Json[] = [];
  if (distro && osRef) {
    components.push({
      type: 'operating-system',
      'bom-ref': osRef,
      name: distro.id,
      ...(distro.versionId ? { version: distro.versionId } : {}),
      ...(distro.prettyName ? { description: distro.prettyName } : {}),
      ...(distro.codename ? { properties: [{ name: 'berth:distro:codename', value: distro.codename }] } : {}),
    });
  }
  const osRefs: string[] = [];
  const otherRefs: string[] = [];
  for (const g of groups) {
    components.push(packageComponent(g.purl, g.first, g.all));
    (OS_PACKAGE_TYPES.has(g.first.type) && osRef ? osRefs : otherRefs).push(g.purl);
  }

  const dependencies: Json[] = [{ ref: rootRef, dependsOn: [...(osRef ? [osRef] : []), ...otherRefs] }];
  if (osRef) dependencies.push({ ref: osRef, dependsOn: osRefs });

  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: CYCLONEDX_SPEC_VERSION,
    serialNumber: `urn:uuid:${gen.serial.toLowerCase()}`,
    version: 1,
    metadata: {
      timestamp: new Date(gen.timestamp).toISOString(),
      tools: { components: [{ type: 'application', name: gen.tool.name, version: gen.tool.version }] },
      component: rootComponent(subject, rootRef),
      ...(inventory.warnings.length ? { properties: inventory.warnings.slice(0, 100).map((w) => ({ name: `berth:scan:warning:${w.code}`, value: warningText(w) })) } : {}),
    },
    components,
    dependencies,
  };
}

function warningText(w: { message: string; path?: string; layerDigest?: string }): string {
  return [w.message, w.path && `path ${w.path}`, w.layerDigest && `layer ${w.layerDigest}`].filter(Boolean).join('; ');
}

function rootComponent(s: SbomSubject, ref: string): Json {
  const { algorithm, hex } = splitDigest(s.digest);
  const alg = HASH_ALG[algorithm];
  const props: Property[] = [{ name: 'berth:artifact:mediaType', value: s.mediaType }, { name: 'berth:artifact:digest', value: s.digest }];
  for (const t of s.tags ?? []) props.push({ name: 'berth:artifact:tag', value: t });
  if (s.platform?.os) props.push({ name: 'berth:image:os', value: s.platform.os });
  if (s.platform?.architecture) props.push({ name: 'berth:image:architecture', value: s.platform.architecture });
  // annotations keep their own names (org.opencontainers.image.revision …)
  for (const [k, v] of Object.entries(s.annotations ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) props.push({ name: k, value: v });
  historyWithLayers(s).forEach((h, i) => {
    const at = `berth:image:history:${i}`;
    if (h.created) props.push({ name: `${at}:created`, value: h.created });
    if (h.created_by) props.push({ name: `${at}:created_by`, value: h.created_by });
    if (h.comment) props.push({ name: `${at}:comment`, value: h.comment });
    if (h.layerDigest) props.push({ name: `${at}:layer`, value: h.layerDigest });
    if (h.empty_layer) props.push({ name: `${at}:empty_layer`, value: 'true' });
  });
  const source = s.annotations?.[OCI_SOURCE];
  const revision = s.annotations?.[OCI_REVISION];
  return {
    type: 'container',
    'bom-ref': ref,
    name: s.repository,
    version: subjectVersion(s),
    purl: ref,
    ...(alg && /^[a-f0-9]+$/.test(hex) ? { hashes: [{ alg, content: hex }] } : {}),
    ...(source && isUrl(source)
      ? { externalReferences: [{ type: 'vcs', url: source, ...(revision ? { comment: `revision ${revision}` } : {}) }] }
      : {}),
    properties: props,
  };
}

function packageComponent(purl: string, p: ExtractedPackage, all: readonly ExtractedPackage[]): Json {
  const props: Property[] = [{ name: 'berth:package:type', value: p.type }];
  if (p.arch) props.push({ name: 'berth:package:arch', value: p.arch });
  if (p.source) {
    props.push({ name: 'berth:package:source', value: p.source.name });
    if (p.source.version) props.push({ name: 'berth:package:source-version', value: p.source.version });
  }
  if (p.epoch) props.push({ name: 'berth:package:epoch', value: String(p.epoch) });
  if (p.goVersion) props.push({ name: 'berth:package:go-toolchain', value: p.goVersion });
  const layers = [...new Set(all.map((o) => o.layerDigest))];
  for (const l of layers) props.push({ name: 'berth:layer:digest', value: l });
  const seen = new Set<string>();
  const occurrences: Json[] = [];
  for (const o of all) {
    const location = occurrenceLocation(o);
    const key = `${o.layerDigest}\0${location}`;
    if (seen.has(key)) continue;
    seen.add(key);
    occurrences.push({ location, additionalContext: `layer ${o.layerDigest}` });
  }
  return {
    type: p.type === 'golang' && p.role === 'main' ? 'application' : 'library',
    'bom-ref': purl,
    ...(p.namespace ? { group: p.namespace } : {}),
    name: p.name,
    ...(p.version ? { version: p.version } : {}),
    purl,
    properties: props,
    evidence: { occurrences },
  };
}

function isUrl(s: string): boolean {
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}
