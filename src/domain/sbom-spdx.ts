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

export const SPDX_MEDIA_TYPE = 'application/spdx+json';

type Json = Record<string, unknown>;

const NOASSERTION = 'NOASSERTION';
/** SPDX checksum algorithm names of OCI digest algorithms. */
const CHECKSUM_ALG: Record<string, string> = { sha256: 'SHA256', sha512: 'SHA512', sha384: 'SHA384' };
/** Occurrences named in one package's sourceInfo; the CycloneDX document lists them all. */
const MAX_SOURCE_INFO = 20;

/** SPDX 2.3 §3.10 / §6.2: date-times are `YYYY-MM-DDThh:mm:ssZ` (UTC, no fraction). */
export function spdxDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * An SPDX 2.3 document of an artifact: the artifact as a CONTAINER package (oci purl, digest
 * checksum, source and revision from its annotations, its history as annotations), the
 * operating system as an OPERATING_SYSTEM package, and one package per distinct purl with
 * the layers and files it was found in. DESCRIBES and CONTAINS relationships tie them together.
 * Licences are NOASSERTION: the analyzers record no licence.
 */
export function spdxDocument(inventory: ImageInventory, subject: SbomSubject, gen: SbomGeneration): Json {
  const created = spdxDate(gen.timestamp);
  const tool = `Tool: ${gen.tool.name}-${gen.tool.version}`;
  const base = (gen.namespaceBase ?? 'https://berth.invalid').replace(/\/+$/, '');
  const packages: Json[] = [imagePackage(subject, created, tool)];
  const relationships: Json[] = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Image' }];

  const distro = inventory.distro;
  if (distro) {
    packages.push({
      SPDXID: 'SPDXRef-OperatingSystem',
      name: distro.id,
      ...(distro.versionId ? { versionInfo: distro.versionId } : {}),
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      primaryPackagePurpose: 'OPERATING_SYSTEM',
      ...(distro.prettyName ? { description: distro.prettyName } : {}),
    });
    relationships.push({ spdxElementId: 'SPDXRef-Image', relationshipType: 'CONTAINS', relatedSpdxElement: 'SPDXRef-OperatingSystem' });
  }

  groupByPurl(inventory.packages).forEach((g, i) => {
    const id = `SPDXRef-Package-${i + 1}`;
    packages.push(packageOf(id, g.purl, g.first, g.all));
    const parent = distro && OS_PACKAGE_TYPES.has(g.first.type) ? 'SPDXRef-OperatingSystem' : 'SPDXRef-Image';
    relationships.push({ spdxElementId: parent, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  });

  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${subject.repository}@${subject.digest}`,
    documentNamespace: `${base}/spdx/${subject.repository}/${subject.digest.replace(':', '-')}/${gen.serial.toLowerCase()}`,
    creationInfo: { created, creators: [tool], ...(inventory.warnings.length ? { comment: `${inventory.warnings.length} scan warnings: the inventory may be incomplete` } : {}) },
    packages,
    relationships,
  };
}

function imagePackage(s: SbomSubject, created: string, tool: string): Json {
  const { algorithm, hex } = splitDigest(s.digest);
  const alg = CHECKSUM_ALG[algorithm];
  const source = s.annotations?.[OCI_SOURCE];
  const revision = s.annotations?.[OCI_REVISION];
  const annotations: Json[] = [];
  for (const [k, v] of Object.entries(s.annotations ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    annotations.push({ annotationDate: created, annotationType: 'OTHER', annotator: tool, comment: `${k}=${v}` });
  }
  historyWithLayers(s).forEach((h, i) => {
    const parts = [`history[${i}]`, h.created_by, h.comment && `(${h.comment})`, h.layerDigest && `layer ${h.layerDigest}`, h.empty_layer && 'empty layer'];
    annotations.push({
      annotationDate: h.created && /^\d{4}-\d{2}-\d{2}T/.test(h.created) ? spdxDate(Date.parse(h.created) || 0) : created,
      annotationType: 'OTHER',
      annotator: tool,
      comment: parts.filter(Boolean).join(' '),
    });
  });
  return {
    SPDXID: 'SPDXRef-Image',
    name: s.repository,
    versionInfo: subjectVersion(s),
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    primaryPackagePurpose: 'CONTAINER',
    ...(alg && /^[a-f0-9]+$/.test(hex) ? { checksums: [{ algorithm: alg, checksumValue: hex }] } : {}),
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: ociPurl(s) }],
    ...(source ? { sourceInfo: `built from ${source}${revision ? ` at revision ${revision}` : ''}` } : revision ? { sourceInfo: `revision ${revision}` } : {}),
    ...(s.tags?.length ? { comment: `tags: ${s.tags.join(', ')}` } : {}),
    ...(annotations.length ? { annotations } : {}),
  };
}

function packageOf(id: string, purl: string, p: ExtractedPackage, all: readonly ExtractedPackage[]): Json {
  const places = [...new Set(all.map((o) => `layer ${o.layerDigest} at ${occurrenceLocation(o)}`))];
  const shown = places.slice(0, MAX_SOURCE_INFO).join('; ') + (places.length > MAX_SOURCE_INFO ? `; and ${places.length - MAX_SOURCE_INFO} more` : '');
  const src = p.source ? `source package ${p.source.name}${p.source.version ? ` ${p.source.version}` : ''}; ` : '';
  return {
    SPDXID: id,
    name: p.namespace ? `${p.namespace}/${p.name}` : p.name,
    ...(p.version ? { versionInfo: p.version } : {}),
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    licenseConcluded: NOASSERTION,
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
    supplier: NOASSERTION,
    primaryPackagePurpose: p.type === 'golang' && p.role === 'main' ? 'APPLICATION' : 'LIBRARY',
    sourceInfo: `${src}found in ${shown}`,
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl }],
  };
}
