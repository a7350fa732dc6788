/* eslint-disable @typescript-eslint/no-explicit-any -- the documents are plain JSON, walked by shape in the assertions */
import { describe, expect, it } from 'vitest';
import { cycloneDxDocument } from '../../src/domain/sbom-cyclonedx.js';
import { spdxDocument } from '../../src/domain/sbom-spdx.js';
import type { ImageInventory } from '../../src/domain/sbom.js';
import type { SbomGeneration, SbomSubject } from '../../src/domain/sbom-subject.js';
import { mergeLayers } from '../../src/scanner/layer-merge.js';
import { scanLayer } from '../../src/scanner/layer-reader.js';
import { run, tarOfPaths } from '../scanner/real-files.js';
import { chunked, tarOf } from '../scanner/tar-fixtures.js';
import { validateCycloneDx, validateSpdx } from './sbom-schemas.js';

const L1 = 'sha256:' + '1'.repeat(64);
const L2 = 'sha256:' + '2'.repeat(64);
const DIGEST = 'sha256:' + 'd'.repeat(64);

/** This machine's dpkg database and os-release as one layer, plus a layer of npm packages. */
async function realInventory(): Promise<ImageInventory> {
  const os = tarOfPaths('/', ['var/lib/dpkg/status', 'usr/lib/os-release']);
  const npm = Buffer.from(
    JSON.stringify({
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      packages: {
        '': { name: 'app', version: '1.0.0' },
        'node_modules/@babel/core': { version: '7.24.0' },
        'node_modules/lodash': { version: '4.17.21' },
      },
    }),
  );
  const app = tarOf([{ name: 'srv/app/package-lock.json', body: npm }]);
  const layers = [await scanLayer(chunked(os), { layerDigest: L1 }), await scanLayer(chunked(app), { layerDigest: L2 })];
  return mergeLayers(layers);
}

const subject: SbomSubject = {
  repository: 'library/app',
  digest: DIGEST,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  registry: 'registry.example:5000',
  tags: ['1.0'],
  annotations: {
    'org.opencontainers.image.source': 'https://git.example/app.git',
    'org.opencontainers.image.revision': '0123456789abcdef',
    'org.opencontainers.image.version': '1.0.0',
    'org.opencontainers.image.created': '2024-05-01T10:00:00Z',
  },
  history: [
    { created: '2024-05-01T09:00:00Z', created_by: 'debootstrap bookworm' },
    { created: '2024-05-01T09:30:00Z', created_by: 'ENV NODE_ENV=production', empty_layer: true },
    { created: '2024-05-01T10:00:00Z', created_by: 'COPY package-lock.json /srv/app/' },
  ],
  layers: [L1, L2],
  platform: { os: 'linux', architecture: 'amd64' },
};
const gen: SbomGeneration = { timestamp: Date.UTC(2024, 4, 2, 12, 0, 0, 123), serial: '3E671687-395B-41F5-A30F-A58921A69B79', tool: { name: 'berth', version: '0.1.0' } };

describe('SBOM documents of a real inventory', () => {
  it('CycloneDX 1.6: valid against the official schema, every package of dpkg-query and the npm lock, with layers and files', async () => {
    const inv = await realInventory();
    const doc = cycloneDxDocument(inv, subject, gen) as any;
    expect(validateCycloneDx(doc)).toEqual([]);
    expect(doc.serialNumber).toBe('urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79');
    expect(doc.metadata.timestamp).toBe('2024-05-02T12:00:00.123Z');
    const installed = run('dpkg-query', ['-W', '-f', '${db:Status-Abbrev}|${Package}|${Version}\\n'])
      .split('\n').filter((l) => /^[ih]i/.test(l)).map((l) => l.split('|'));
    const debs = doc.components.filter((c: any) => c.purl?.startsWith('pkg:deb/'));
    expect(new Set(debs.map((c: any) => `${c.name} ${c.version}`))).toEqual(new Set(installed.map((r) => `${r[1]} ${r[2]}`)));
    const libc = debs.find((c: any) => c.name === 'libc6');
    expect(libc.evidence.occurrences).toEqual([{ location: 'var/lib/dpkg/status', additionalContext: `layer ${L1}` }]);
    expect(libc.properties).toContainEqual({ name: 'berth:layer:digest', value: L1 });
    const babel = doc.components.find((c: any) => c.name === 'core' && c.group === '@babel');
    expect(babel).toMatchObject({ version: '7.24.0', purl: 'pkg:npm/%40babel/core@7.24.0' });
    expect(babel.evidence.occurrences[0]).toEqual({ location: 'srv/app/package-lock.json', additionalContext: `layer ${L2}` });
    // the artifact itself, with its source revision and history mapped to its layers
    const root = doc.metadata.component;
    expect(root).toMatchObject({ type: 'container', name: 'library/app', version: '1.0.0', hashes: [{ alg: 'SHA-256', content: 'd'.repeat(64) }] });
    expect(root.purl).toBe(`pkg:oci/app@sha256%3A${'d'.repeat(64)}?arch=amd64&repository_url=registry.example:5000/library/app&tag=1.0`);
    expect(root.externalReferences).toEqual([{ type: 'vcs', url: 'https://git.example/app.git', comment: 'revision 0123456789abcdef' }]);
    expect(root.properties).toContainEqual({ name: 'org.opencontainers.image.revision', value: '0123456789abcdef' });
    expect(root.properties).toContainEqual({ name: 'berth:image:history:2:layer', value: L2 });
    expect(root.properties).toContainEqual({ name: 'berth:image:history:0:layer', value: L1 });
    expect(root.properties).toContainEqual({ name: 'berth:image:history:1:empty_layer', value: 'true' });
    const os = doc.components.find((c: any) => c.type === 'operating-system');
    expect(os).toMatchObject({ name: 'debian', version: '12' });
    // the graph: image -> os -> deb packages; image -> npm packages
    const rootDeps = doc.dependencies.find((d: any) => d.ref === root['bom-ref']);
    expect(rootDeps.dependsOn).toContain(os['bom-ref']);
    expect(rootDeps.dependsOn).toContain(babel['bom-ref']);
    expect(doc.dependencies.find((d: any) => d.ref === os['bom-ref']).dependsOn).toContain(libc['bom-ref']);
    // deterministic for equal inputs
    expect(JSON.stringify(cycloneDxDocument(inv, subject, gen))).toBe(JSON.stringify(doc));
  });

  it('SPDX 2.3: valid against the official schema, same packages, DESCRIBES and CONTAINS relationships', async () => {
    const inv = await realInventory();
    const doc = spdxDocument(inv, subject, gen) as any;
    expect(validateSpdx(doc)).toEqual([]);
    expect(doc.creationInfo).toEqual({ created: '2024-05-02T12:00:00Z', creators: ['Tool: berth-0.1.0'] });
    expect(doc.documentNamespace).toBe(`https://berth.invalid/spdx/library/app/sha256-${'d'.repeat(64)}/3e671687-395b-41f5-a30f-a58921a69b79`);
    const purls = (p: any) => p.externalRefs.find((r: any) => r.referenceType === 'purl').referenceLocator;
    const pkgs = doc.packages.filter((p: any) => p.SPDXID.startsWith('SPDXRef-Package-'));
    expect(new Set(pkgs.map(purls))).toEqual(new Set(inv.packages.map((p) => p.purl)));
    const image = doc.packages.find((p: any) => p.SPDXID === 'SPDXRef-Image');
    expect(image).toMatchObject({ primaryPackagePurpose: 'CONTAINER', versionInfo: '1.0.0', checksums: [{ algorithm: 'SHA256', checksumValue: 'd'.repeat(64) }] });
    expect(image.sourceInfo).toBe('built from https://git.example/app.git at revision 0123456789abcdef');
    expect(image.annotations.map((a: any) => a.comment)).toContain(`history[2] COPY package-lock.json /srv/app/ layer ${L2}`);
    const libc = pkgs.find((p: any) => p.name === 'libc6');
    expect(libc.sourceInfo).toContain(`found in layer ${L1} at var/lib/dpkg/status`);
    expect(doc.relationships).toContainEqual({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Image' });
    expect(doc.relationships).toContainEqual({ spdxElementId: 'SPDXRef-OperatingSystem', relationshipType: 'CONTAINS', relatedSpdxElement: libc.SPDXID });
    const babel = pkgs.find((p: any) => p.name === '@babel/core');
    expect(doc.relationships).toContainEqual({ spdxElementId: 'SPDXRef-Image', relationshipType: 'CONTAINS', relatedSpdxElement: babel.SPDXID });
  });

  it('an artifact with nothing found still makes valid documents', () => {
    const empty: ImageInventory = { packages: [], warnings: [{ code: 'truncated', message: 'layer cut short', layerDigest: L1 }] };
    const bare: SbomSubject = { repository: 'p/x', digest: 'sha512:' + 'e'.repeat(128), mediaType: 'application/vnd.oci.image.index.v1+json' };
    expect(validateCycloneDx(cycloneDxDocument(empty, bare, gen))).toEqual([]);
    expect(validateSpdx(spdxDocument(empty, bare, gen))).toEqual([]);
  });

  it('the validators do reject a broken document', () => {
    expect(validateCycloneDx({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ name: 'x' }] }).length).toBeGreaterThan(0);
    expect(validateSpdx({ spdxVersion: 'SPDX-2.3' }).length).toBeGreaterThan(0);
  });
});
